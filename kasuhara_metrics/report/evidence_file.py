"""A requester's evidence file for counsel: an Excel workbook and a printable HTML page, both in Japanese.

The cover names the requester by pseudonym (and by number only after `--reveal`); the timeline lists
every contact with the ids to retrieve its recording or reception record; then the flags with the
decisions on them, and the handling totals (延べ対応時間) per department.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.levels import SEVERITY_LABELS
from ..desk.reviews import STATUS_LABELS
from .data import detail_ja
from .decisions import CHANNELS_JA
from .evidence import EvidenceData
from .pages import render_page

OUTCOMES_JA = {
    "answered": "応答",
    "machine": "自動応答のみ",
    "dropped": "応答前に切断",
    "busy": "話中",
    "no_answer": "不応答",
    "failed": "不成立",
    "visit": "来庁",
}


@dataclass
class EvidenceFiles:
    html: Path
    workbook: Path


def write_evidence(data: EvidenceData, out: Path) -> EvidenceFiles:
    out.mkdir(parents=True, exist_ok=True)
    rows = timeline_rows(data)
    flags = flag_rows(data)
    html = out / f"evidence-{data.requester_key}.html"
    html.write_text(render_page("evidence.html.j2", data=data, timeline=rows, flags=flags), encoding="utf-8")
    workbook = out / f"evidence-{data.requester_key}.xlsx"
    _workbook(data, rows, flags, workbook)
    return EvidenceFiles(html, workbook)


def timeline_rows(data: EvidenceData) -> list[dict[str, Any]]:
    return [
        {
            "date": c["started_at"].strftime("%Y-%m-%d"),
            "start": c["started_at"].strftime("%H:%M:%S"),
            "end": c["ended_at"].strftime("%H:%M:%S") if c["ended_at"] else "",
            "minutes": round(c["talk_s"] / 60, 1),
            "channel": CHANNELS_JA.get(c["channel"], c["channel"]),
            "department": c["department"] or "(不明)",
            "kind": c["kind"],
            "outcome": OUTCOMES_JA.get(c["outcome"], c["outcome"]),
            "record_ids": "; ".join(c["source_ids"]),
            "linkedids": "; ".join(c["linkedids"]),
            "flags": "; ".join(c["flag_ids"]),
            "started_at": c["started_at"],
        }
        for c in data.contacts
    ]


def flag_rows(data: EvidenceData) -> list[dict[str, Any]]:
    rules = {rule.id: rule for rule in data.profile.rules}
    decisions: dict[str, list[str]] = {}
    for review in data.reviews:
        decisions.setdefault(review["flag_id"], []).append(
            f"{review['reviewed_at'].strftime('%Y-%m-%d')} {STATUS_LABELS.get(review['status'], review['status'])}"
            f"（{review['reviewer']}）"
        )
    return [
        {
            "flag_id": f["flag_id"],
            "category": f["category"],
            "behaviour": f["behaviour"],
            "severity": SEVERITY_LABELS.get(f["severity"], f["severity"]),
            "period": f"{f['first_at']:%Y-%m-%d %H:%M} 〜 {f['last_at']:%Y-%m-%d %H:%M}",
            "detail": detail_ja(f, rules.get(f["rule_id"])),
            "contacts": f["contacts"],
            "status": STATUS_LABELS.get(f["review_status"], f["review_status"]),
            "decisions": "; ".join(decisions.get(f["flag_id"], [])),
        }
        for f in data.flags
    ]


def _workbook(data: EvidenceData, timeline: list[dict[str, Any]], flags: list[dict[str, Any]], path: Path) -> None:
    from openpyxl import Workbook

    from .excel import add_table, excel_time

    book = Workbook()
    book.remove(book.active)
    totals = data.totals
    cover: list[list[Any]] = [
        ["対象者（仮名）", data.requester_key],
        *([["電話番号（開示）", data.reveal.number], ["開示した者", data.reveal.by]] if data.reveal else []),
        ["作成", excel_time(data.generated_at)],
        ["判定基準", f"{data.profile.name} {data.profile.version}"],
        ["対応件数", totals["contacts"]],
        ["うち電話", totals["calls"]],
        ["うち来庁", totals["visits"]],
        ["延べ対応時間（分）", totals["handling_minutes"]],
        ["職員の対応時間（時間）", totals["staff_hours"]],
        ["人件費の目安（円）", totals["staff_cost_yen"]],
        ["フラグ", len(data.flags)],
    ]
    add_table(book, "表紙", ["項目", "内容"], cover)
    add_table(
        book,
        "対応の記録",
        [
            "日付",
            "開始",
            "終了",
            "対応時間（分）",
            "種別",
            "部署",
            "内容の種類",
            "結果",
            "記録ID",
            "通話ID（linkedid）",
            "フラグ",
        ],
        [
            [
                excel_time(r["started_at"]),
                r["start"],
                r["end"],
                r["minutes"],
                r["channel"],
                r["department"],
                r["kind"],
                r["outcome"],
                r["record_ids"],
                r["linkedids"],
                r["flags"],
            ]
            for r in timeline
        ],
    )
    add_table(
        book,
        "フラグと確認",
        ["フラグ", "区分", "検知された行為", "水準", "期間", "内容", "根拠の件数", "確認状況", "確認の記録"],
        [list(f.values()) for f in flags],
    )
    add_table(
        book,
        "部署別の対応時間",
        ["部署", "対応件数", "電話", "来庁", "延べ対応時間（分）", "職員の対応時間（時間）", "人件費の目安（円）"],
        [
            [
                d["department"],
                d["contacts"],
                d["calls"],
                d["visits"],
                d["handling_minutes"],
                d["staff_hours"],
                d["staff_cost_yen"],
            ]
            for d in data.by_department
        ],
    )
    book.save(path)
