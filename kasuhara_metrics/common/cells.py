"""Cells from data never leave as spreadsheet formulas (OWASP: CSV injection).

A department typed as `=HYPERLINK("http://...",...)` must reach a manager's Excel as text. CSV
output gets a leading quote; the workbook writes such cells as text cells.
"""

from __future__ import annotations

from typing import Any

# A cell starting with one of these is run as a formula by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def as_text_cell(value: Any) -> Any:
    """For CSV: text a spreadsheet would run as a formula, made plain text with a leading quote; a
    carriage return a line break (the csv module would leave a bare CR unquoted, ending the row)."""
    if not isinstance(value, str):
        return value
    return ("'" + value if formula_like(value) else value).replace("\r\n", "\n").replace("\r", "\n")
