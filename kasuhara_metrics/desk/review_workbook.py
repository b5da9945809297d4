"""Review decisions that round-trip through Excel: the weekly workbook's review columns, read back.

The report writes, on every sheet that lists flags, a フラグ column and three empty columns for a
manager to fill in: 確認結果 (a drop-down of the review statuses), メモ and 確認者. `import_reviews`
reads every such sheet, checks every filled row first and reports each wrong value by sheet and cell,
then records all the decisions in one transaction, or none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.db import Database
from ..common.errors import KasuharaError
from .reviews import STATUS_LABELS, STATUSES, add_review

FLAG_COLUMN = "フラグ"
STATUS_COLUMN = "確認結果"
NOTE_COLUMN = "メモ"
REVIEWER_COLUMN = "確認者"
REVIEW_COLUMNS = (STATUS_COLUMN, NOTE_COLUMN, REVIEWER_COLUMN)
# The drop-down's choices, in the order a manager meets them; English statuses are read too.
CHOICES = tuple(STATUS_LABELS[status] for status in ("confirmed", "watching", "dismissed"))
_STATUS_OF = {STATUS_LABELS[s]: s for s in STATUSES} | {s: s for s in STATUSES}


@dataclass(frozen=True)
class WorkbookReview:
    sheet: str
    cell: str  # of the 確認結果 value
    flag_id: str
    status: str
    note: str | None
    reviewer: str


class WorkbookError(KasuharaError):
    """Every wrong value of a workbook, each with its sheet and cell; nothing was imported."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{path.name}: {len(problems)} problem(s), nothing imported - correct them and import again:\n{listed}"
        )


def read_reviews(db: Database, path: Path, default_reviewer: str | None = None) -> list[WorkbookReview]:
    """The decisions filled in on the workbook's review columns, checked against the current flags."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise KasuharaError(
            f"{path}: cannot be read as an Excel workbook ({exc}) - pass the .xlsx the report wrote"
        ) from None
    current = {row[0] for row in db.con.execute("SELECT flag_id FROM flag_rows").fetchall()}
    problems: list[str] = []
    reviews: dict[str, WorkbookReview] = {}
    sheets = 0
    for sheet in book.worksheets:
        rows = sheet.iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(rows, ())]
        if FLAG_COLUMN not in header or STATUS_COLUMN not in header:
            continue
        sheets += 1
        for review in _filled_rows(sheet.title, header, rows, current, default_reviewer, problems):
            earlier = reviews.setdefault(review.flag_id, review)
            if (earlier.status, earlier.note, earlier.reviewer) != (review.status, review.note, review.reviewer):
                problems.append(f"{review.cell}: flag {review.flag_id} is decided otherwise at {earlier.cell}")
    if not sheets:
        problems.append(
            f"no sheet has the columns {FLAG_COLUMN} and {STATUS_COLUMN} - pass the workbook `kasuhara report` wrote"
        )
    if problems:
        raise WorkbookError(path, problems)
    return list(reviews.values())


def _filled_rows(
    title: str,
    header: list[str],
    rows: Iterator[tuple[Any, ...]],
    current: set[str],
    default_reviewer: str | None,
    problems: list[str],
) -> Iterator[WorkbookReview]:
    """The sheet's rows with a 確認結果, each checked; a problem is noted and its row skipped."""
    from openpyxl.utils import get_column_letter

    column = {name: header.index(name) for name in (FLAG_COLUMN, *REVIEW_COLUMNS) if name in header}

    def cell(name: str, line: int) -> str:
        return f"sheet {title}, cell {get_column_letter(column[name] + 1)}{line}"

    for line, values in enumerate(rows, start=2):
        status_text = _text(values, column.get(STATUS_COLUMN))
        if not status_text:
            continue
        flag_id = _text(values, column[FLAG_COLUMN])
        status = _STATUS_OF.get(status_text)
        reviewer = _text(values, column.get(REVIEWER_COLUMN)) or (default_reviewer or "").strip()
        where = cell(STATUS_COLUMN, line)
        ok = True
        if status is None:
            problems.append(f"{where}: 確認結果 '{status_text}' is not one of {', '.join(CHOICES)}")
            ok = False
        if flag_id not in current:
            problems.append(f"{cell(FLAG_COLUMN, line)}: '{flag_id}' is no current flag - use the latest workbook")
            ok = False
        if not reviewer:
            at = cell(REVIEWER_COLUMN, line) if REVIEWER_COLUMN in column else where
            problems.append(f"{at}: say who decided (確認者), or import with --by NAME")
            ok = False
        if ok and status is not None:
            note = _text(values, column.get(NOTE_COLUMN)) or None
            yield WorkbookReview(title, where, flag_id, status, note, reviewer)


def import_reviews(db: Database, path: Path, default_reviewer: str | None = None) -> list[tuple[WorkbookReview, int]]:
    """Record the workbook's decisions, with the rules of `kasuhara review`: all of them, or none.

    A row that repeats a flag's latest decision (same status, reviewer and note, the flag not grown
    since) is already recorded: importing the same workbook again adds nothing."""
    reviews = read_reviews(db, path, default_reviewer)
    latest = {
        flag_id: (status, reviewer, note_id)
        for flag_id, status, reviewer, note_id in db.con.execute(
            """SELECT r.flag_id, r.status, r.reviewer, r.note_id FROM review_rows r JOIN flags f USING (flag_id)
               WHERE NOT f.needs_review
               QUALIFY row_number() OVER (PARTITION BY r.flag_id ORDER BY r.review_id DESC) = 1"""
        ).fetchall()
    }
    note_ids = [note_id for _, _, note_id in latest.values() if note_id]
    notes = dict(db.vault().rows("SELECT note_id, note FROM review_notes WHERE list_contains(?, note_id)", [note_ids]))
    new = [
        r
        for r in reviews
        if (known := latest.get(r.flag_id)) is None
        or (known[0], known[1], notes.get(known[2])) != (r.status, r.reviewer, r.note)
    ]
    with db.transaction():
        return [(r, add_review(db, r.flag_id, r.status, r.reviewer, r.note)) for r in new]


def _text(values: tuple[Any, ...], index: int | None) -> str:
    if index is None or index >= len(values) or values[index] is None:
        return ""
    return str(values[index]).strip()
