"""Decisions round-trip through Excel: the workbook's review columns, filled in as a manager does and
imported with `kasuhara review --from`, with the rules of `kasuhara review`, all or nothing."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.desk.review_workbook import CHOICES, REVIEW_COLUMNS, STATUS_COLUMN
from kasuhara_metrics.report import Week, write_report
from kasuhara_metrics.rules import load_profile

from .conftest import rows

WEEK = Week.parse("2026-W38", "Asia/Tokyo")
NOTE = "山田さんは転居の手続きで来庁"


@pytest.fixture
def ward(judged_ward, tmp_path):
    db_path, invoke = judged_ward
    with connect(db_path) as db:
        files = write_report(db, load_profile(), WEEK, tmp_path / "out")
    return db_path, files.workbook, invoke


def _fill(path, sheet_name: str, row: int, **values) -> str:
    """Write into a row's review columns by their headers, as a manager would; returns its flag id."""
    book = load_workbook(path)
    sheet = book[sheet_name]
    header = [c.value for c in sheet[1]]
    for name, value in values.items():
        sheet.cell(row=row, column=header.index(name) + 1, value=value)
    flag = sheet.cell(row=row, column=header.index("フラグ") + 1).value
    book.save(path)
    return flag


def _reviews(db_path):
    with connect(db_path, read_only=True) as db:
        return rows(db, "SELECT flag_id, status, reviewer, note_id IS NOT NULL FROM review_rows ORDER BY review_id")


def test_the_workbook_offers_the_statuses_and_its_decisions_import(ward):
    db_path, workbook, invoke = ward
    book = load_workbook(workbook)
    for name in ("今週の判断", "対象者別"):
        header = [c.value for c in book[name][1]]
        assert header[-3:] == list(REVIEW_COLUMNS) and "フラグ" in header
        (validation,) = book[name].data_validations.dataValidation
        column = chr(ord("A") + header.index(STATUS_COLUMN))
        assert validation.formula1 == '"' + ",".join(CHOICES) + '"' and str(validation.sqref).startswith(f"{column}2:")
        assert all(row[-3:] == (None, None, None) for row in book[name].iter_rows(min_row=2, values_only=True))

    dismissed = _fill(workbook, "今週の判断", 2, 確認結果="該当なし", メモ=NOTE, 確認者="佐藤")
    confirmed = _fill(workbook, "今週の判断", 3, 確認結果="確認済み", 確認者="佐藤")
    watching = _fill(workbook, "対象者別", 4, 確認結果="経過観察")  # 確認者 from --by
    assert len({dismissed, confirmed, watching}) == 3
    result = invoke("review", "--from", str(workbook), "--by", "田中")
    assert result.exit_code == 0, result.output
    assert "3 decisions recorded" in result.output
    assert _reviews(db_path) == [
        (dismissed, "dismissed", "佐藤", True),
        (confirmed, "confirmed", "佐藤", False),
        (watching, "watching", "田中", False),
    ]
    again = invoke("review", "--from", str(workbook), "--by", "田中")  # the same workbook again: nothing new
    assert again.exit_code == 0 and "0 decisions recorded" in again.output and len(_reviews(db_path)) == 3
    with connect(db_path, read_only=True) as db:
        statuses = dict(rows(db, "SELECT flag_id, review_status FROM flags WHERE review_status <> 'unreviewed'"))
        assert statuses == {dismissed: "dismissed", confirmed: "confirmed", watching: "watching"}
        # The note, free text that may name people, is in the vault, where the review points.
        (note_id,) = [r[0] for r in rows(db, "SELECT note_id FROM review_rows WHERE note_id IS NOT NULL")]
        assert db.vault().rows("SELECT note FROM review_notes WHERE note_id = ?", [note_id]) == [(NOTE,)]


def test_wrong_values_are_named_by_sheet_and_cell_and_nothing_is_imported(ward):
    db_path, workbook, invoke = ward
    _fill(workbook, "今週の判断", 2, 確認結果="該当なし", 確認者="佐藤")  # a good row: not imported either
    _fill(workbook, "今週の判断", 3, 確認結果="済み", 確認者="佐藤")
    _fill(workbook, "今週の判断", 4, 確認結果="確認済み")  # nobody said who
    _fill(workbook, "今週の判断", 5, フラグ="F0000000000000000", 確認結果="確認済み", 確認者="佐藤")
    result = invoke("review", "--from", str(workbook))
    assert result.exit_code != 0
    header = [c.value for c in load_workbook(workbook)["今週の判断"][1]]
    status, reviewer, flag = (chr(ord("A") + header.index(n)) for n in ("確認結果", "確認者", "フラグ"))
    assert (
        f"sheet 今週の判断, cell {status}3: 確認結果 '済み' is not one of 確認済み, 経過観察, 該当なし" in result.output
    )
    assert f"sheet 今週の判断, cell {reviewer}4: say who decided" in result.output
    assert f"sheet 今週の判断, cell {flag}5: 'F0000000000000000' is no current flag" in result.output
    assert "nothing imported" in result.output and _reviews(db_path) == []


def test_one_flag_decided_two_ways_on_two_sheets_is_refused(ward):
    db_path, workbook, invoke = ward
    flag = _fill(workbook, "今週の判断", 2, 確認結果="該当なし", 確認者="佐藤")
    book = load_workbook(workbook)
    sheet = book["対象者別"]
    header = [c.value for c in sheet[1]]
    row = next(
        r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=header.index("フラグ") + 1).value == flag
    )
    _fill(workbook, "対象者別", row, 確認結果="確認済み", 確認者="佐藤")
    result = invoke("review", "--from", str(workbook))
    assert result.exit_code != 0 and f"flag {flag} is decided otherwise at sheet 今週の判断" in result.output
    assert _reviews(db_path) == []
    # Decided the same way on both sheets: one review.
    _fill(workbook, "対象者別", row, 確認結果="該当なし")
    assert invoke("review", "--from", str(workbook)).exit_code == 0
    assert _reviews(db_path) == [(flag, "dismissed", "佐藤", False)]
