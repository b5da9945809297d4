"""The report's tables as an Excel workbook (managers work in Excel): the same numbers as the page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..common.cells import formula_like
from ..common.levels import CATEGORIES, SEVERITY_LABELS, WORST_SEVERITY
from ..desk.review_workbook import CHOICES, FLAG_COLUMN, REVIEW_COLUMNS, STATUS_COLUMN
from .data import WeeklyData
from .decisions import weekday_labels

HEADER = PatternFill("solid", fgColor="EEF3FA")


def add_table(book: Workbook, title: str, header: list[str], rows: list[list], *, review: bool = False) -> None:
    """A sheet of one table. `review` adds the empty columns a manager fills in and `kasuhara review
    --from` reads back (desk/review_workbook.py); 確認結果 is a drop-down of the review statuses."""
    if review:
        header = [*header, *REVIEW_COLUMNS]
        rows = [[*row, None, None, None] for row in rows]
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER
    for row in rows:
        sheet.append(row)
    # A value from the data is text, never a formula (a department or file named "=..."); times are
    # dates Excel can sort and filter.
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if formula_like(cell.value):
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for index, name in enumerate(header, start=1):
        width = max([len(str(name))] + [len(str(r[index - 1])) for r in rows if r[index - 1] is not None])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width * 1.6))
    if review:
        choices = DataValidation(
            type="list",
            formula1='"' + ",".join(CHOICES) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="確認結果",
            error="一覧から選んでください: " + "、".join(CHOICES),
        )
        sheet.add_data_validation(choices)
        letter = get_column_letter(header.index(STATUS_COLUMN) + 1)
        choices.add(f"{letter}2:{letter}{max(2, len(rows) + 1)}")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(1, len(rows) + 1)}"


FLAG_HEADER = ["検知された行為", "水準", "新規", "開始", "最終"]
OUTCOME_HEADER = ["内容", "確認状況", "対応の目安"]


def _flag_cells(flag: dict[str, Any]) -> list[Any]:
    return [
        flag["behaviour"],
        flag["severity_label"],
        "新規" if flag["is_new"] else "継続",
        excel_time(flag["first_at"]),
        excel_time(flag["last_at"]),
    ]


def _outcome_cells(flag: dict[str, Any]) -> list[Any]:
    return [flag["detail"], flag["status_label"], flag["response"]]


def excel_time(moment: datetime) -> datetime:
    """A real Excel date: the site-local wall time (the session's zone), as Excel holds no zone."""
    return moment.replace(tzinfo=None)


def write_workbook(data: WeeklyData, path: Path) -> None:
    book = Workbook()
    book.remove(book.active)
    t = data.totals
    add_table(
        book,
        "概要",
        ["項目", "件数"],
        [
            ["週", data.week.label],
            ["今週のフラグ", t["flags"]],
            ["新規", t["new"]],
            ["継続中", t["ongoing"]],
            [SEVERITY_LABELS[WORST_SEVERITY], t[WORST_SEVERITY]],
            ["対象者", t["requesters"]],
            ["要確認", t["needs_review"]],
            ["確認済み", t["reviewed"]],
            ["うち該当なし", t["dismissed"]],
        ],
    )
    add_table(
        book,
        "今週の判断",
        [
            "順",
            FLAG_COLUMN,
            "対象者（仮名）",
            *FLAG_HEADER,
            "根拠となる対応（件）",
            "電話",
            "来庁",
            "部署数",
            "対応時間（分）",
            *OUTCOME_HEADER,
        ],
        [
            [
                rank,
                f["flag_id"],
                f["requester_key"],
                *_flag_cells(f),
                f["contacts"],
                f["calls"],
                f["visits"],
                f["departments"],
                f["minutes"],
                *_outcome_cells(f),
            ]
            for rank, f in enumerate(data.decisions, start=1)
        ],
        review=True,
    )
    add_table(
        book,
        "収集状況",
        ["記録", *weekday_labels(data.week), "計"],
        [[row["source"], *row["days"], sum(row["days"])] for row in data.coverage],
    )
    add_table(
        book,
        "類型別",
        ["区分", "検知された行為", "水準", "新規", "継続中", "計"],
        [
            [r["category"], r["behaviour"], SEVERITY_LABELS[r["severity"]], r["new"], r["ongoing"], r["total"]]
            for r in data.by_behaviour
        ],
    )
    add_table(
        book,
        "部署別",
        ["部署", "関係するフラグ", "対象者", "今週の対応件数"],
        [[r["department"], r["flags"], r["requesters"], r["contacts_this_week"]] for r in data.by_department],
    )
    add_table(book, "推移", ["週", *CATEGORIES], [[r["week"], *(r[c] for c in CATEGORIES)] for r in data.trend])
    add_table(
        book,
        "対象者別",
        [FLAG_COLUMN, "対象者（仮名）", *FLAG_HEADER, *OUTCOME_HEADER],
        [
            [f["flag_id"], p["requester"], *_flag_cells(f), *_outcome_cells(f)]
            for p in data.requesters
            for f in p["flags"]
        ],
        review=True,
    )
    add_table(
        book,
        "延べ対応時間",
        [
            "対象者（仮名）",
            "部署",
            "対応件数",
            "電話",
            "来庁",
            "延べ対応時間（分）",
            "職員の対応時間（時間）",
            "人件費の目安（円）",
        ],
        [
            [
                h["requester_key"],
                h["department"],
                h["contacts"],
                h["calls"],
                h["visits"],
                h["handling_minutes"],
                h["staff_hours"],
                h["staff_cost_yen"],
            ]
            for h in data.handling
        ],
    )
    add_table(
        book,
        "判定の対象外",
        ["ファイル", "形式", "今週の通話", "うち番号として読めない発信者"],
        [[r["file"], r["format"], r["calls"], r["unusable"]] for r in data.unusable],
    )
    book.save(path)
