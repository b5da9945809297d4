"""The report's tables as an Excel workbook (managers work in Excel): the same numbers as the page."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from ..common.cells import formula_like
from ..common.levels import CATEGORIES, SEVERITY_LABELS, WORST_SEVERITY
from .data import WeeklyData

HEADER = PatternFill("solid", fgColor="EEF3FA")


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER
    for row in rows:
        sheet.append(row)
    # A value from the data is text, never a formula (a department or file named "=...").
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if formula_like(cell.value):
                cell.data_type = "s"
    for index, name in enumerate(header, start=1):
        width = max([len(str(name))] + [len(str(r[index - 1])) for r in rows if r[index - 1] is not None])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width * 1.6))
    sheet.freeze_panes = "A2"


def write_workbook(data: WeeklyData, path: Path) -> None:
    book = Workbook()
    book.remove(book.active)
    t = data.totals
    _sheet(
        book,
        "概要",
        ["項目", "件数"],
        [
            ["週", data.week.label],
            ["今週のフラグ", t["flags"]],
            ["新規", t["new"]],
            ["継続中", t["ongoing"]],
            [SEVERITY_LABELS[WORST_SEVERITY], t[WORST_SEVERITY]],
            ["対象の要求者", t["requesters"]],
            ["要確認", t["needs_review"]],
            ["確認済み", t["reviewed"]],
            ["うち該当なし", t["dismissed"]],
        ],
    )
    _sheet(
        book,
        "類型別",
        ["区分", "該当行為", "水準", "新規", "継続中", "計"],
        [
            [r["category"], r["behaviour"], SEVERITY_LABELS[r["severity"]], r["new"], r["ongoing"], r["total"]]
            for r in data.by_behaviour
        ],
    )
    _sheet(
        book,
        "部署別",
        ["部署", "関係するフラグ", "要求者", "今週の対応件数"],
        [[r["department"], r["flags"], r["requesters"], r["contacts_this_week"]] for r in data.by_department],
    )
    _sheet(book, "推移", ["週", *CATEGORIES], [[r["week"], *(r[c] for c in CATEGORIES)] for r in data.trend])
    _sheet(
        book,
        "要求者別",
        ["要求者（仮名）", "該当行為", "水準", "新規", "開始", "最終", "内容", "確認状況", "対応の目安"],
        [
            [
                p["requester"],
                f["behaviour"],
                f["severity_label"],
                "新規" if f["is_new"] else "継続",
                f["first_at"].strftime("%Y-%m-%d %H:%M"),
                f["last_at"].strftime("%Y-%m-%d %H:%M"),
                f["detail"],
                f["status_label"],
                f["response"],
            ]
            for p in data.requesters
            for f in p["flags"]
        ],
    )
    _sheet(
        book,
        "判定の対象外",
        ["ファイル", "形式", "今週の通話", "うち番号として読めない発信者"],
        [[r["file"], r["format"], r["calls"], r["unusable"]] for r in data.unusable],
    )
    book.save(path)
