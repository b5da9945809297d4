"""Read a CSV export into Arrow, line by line, without losing a row.

Every physical non-blank line is one row. pyarrow parses the well-formed rows fast; the few it
cannot (a different number of fields, a stray quote that would swallow the next line) come back
one line at a time, each with its line number, for the format reader to use or reject.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..common import arrays
from ..common.errors import InputFileError, SourceLocation
from .encoding import DecodedBytes, to_utf8

LINE_COLUMN = "_line"
_UNREADABLE = "cannot be read as CSV: a carriage return (CR) inside the line"


@dataclass
class OddRow:
    """A line that parsed as CSV on its own but has another number of fields than the file."""

    line: int
    fields: list[str]
    raw: str


@dataclass
class BadLine:
    line: int
    raw: str
    reason: str


@dataclass
class ParsedFile:
    path: str
    sha256: str
    encoding: str
    header: list[str] | None
    table: pa.Table  # string columns plus LINE_COLUMN (int64)
    odd_rows: list[OddRow] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text: bytes = b""

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.odd_rows) + len(self.bad_lines)

    def unterminated_last_line(self) -> int | None:
        """The number of the last line when the file does not end with a line end, else None."""
        if not self.text or self.text.endswith(b"\n"):
            return None
        return self.text.count(b"\n") + 1

    def raw_lines(self, numbers: set[int]) -> dict[int, str]:
        return lines_of(self.text, numbers)


def lines_of(text: bytes, numbers: set[int]) -> dict[int, str]:
    """The text of the given physical lines of a decoded file, for rejects."""
    found: dict[int, str] = {}
    if not numbers:
        return found
    last = max(numbers)
    for number, line in enumerate(text.split(b"\n"), start=1):
        if number in numbers:
            found[number] = line.decode("utf-8", errors="replace").rstrip("\r")
        if number >= last:
            break
    return found


def file_bytes(path: str | Path) -> bytes:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path} does not exist - check the path", SourceLocation(str(path))) from None
    except IsADirectoryError:
        raise InputFileError(f"{path} is a folder - name the export files in it", SourceLocation(str(path))) from None
    except PermissionError:
        raise InputFileError(f"cannot read {path} - check its permissions", SourceLocation(str(path))) from None
    return raw


def sample_rows(
    decoded: bytes, limit: int = 200, *, delimiter: str = ",", after_line: int = 0
) -> list[tuple[int, list[str]]]:
    """The first `limit` non-blank lines after `after_line`, parsed one by one, with their line numbers."""
    rows: list[tuple[int, list[str]]] = []
    start, number = 0, 0
    while start < len(decoded) and len(rows) < limit:
        end = decoded.find(b"\n", start)
        end = len(decoded) if end < 0 else end
        number += 1
        text = decoded[start:end].decode("utf-8", errors="replace").rstrip("\r")
        start = end + 1
        if number > after_line and text.strip():
            rows.append((number, parse_line(text, delimiter)))
    return rows


def parse_line(text: str, delimiter: str = ",") -> list[str]:
    """One physical line as CSV fields; a stray quote does not reach into the next line."""
    return split_fields(text, delimiter) or []


def split_fields(text: str, delimiter: str = ",") -> list[str] | None:
    """The fields of one line, or None when it cannot be read as CSV (a carriage return inside it)."""
    try:
        return next(csv.reader([text], delimiter=delimiter, doublequote=True, strict=False), [])
    except csv.Error:
        return None


def read_csv_rows(
    path: str,
    raw: bytes,
    *,
    column_count: int | None = None,
    header: bool = False,
    encoding: str = "auto",
    delimiter: str = ",",
    decoded: DecodedBytes | None = None,
    skip_lines: int = 0,
) -> ParsedFile:
    """Parse `raw` (the file's bytes) into string columns c0..cN-1 (the header's names come apart).

    `skip_lines` lines at the top (a title, an export banner) are neither header nor rows.
    """
    sha256 = hashlib.sha256(raw).hexdigest()
    decoded = decoded or to_utf8(raw, path, encoding)
    data = decoded.data
    header_names: list[str] | None = None
    header_line = skip_lines
    if header:
        first = sample_rows(data, limit=1, delimiter=delimiter, after_line=skip_lines)
        if not first:
            raise InputFileError(f"{path} has no header line - is it empty?", SourceLocation(path))
        header_line, header_names = first[0][0], [name.strip() for name in first[0][1]]
        column_count = len(header_names)
    if not column_count:
        raise InputFileError(f"{path} has no rows - is it empty?", SourceLocation(path))
    names = [f"c{i}" for i in range(column_count)]
    table, invalid = _arrow_parse(data, names, header_line, delimiter)
    parsed = ParsedFile(path, sha256, decoded.encoding, header_names, table, text=data)
    if note := decoded.note():
        parsed.notes.append(note)
    if not _place_lines(parsed, data, invalid, header_line, delimiter):
        parsed.odd_rows.clear()
        parsed.bad_lines.clear()
        _parse_line_by_line(parsed, data, names, header_line, delimiter)
    return parsed


def _arrow_parse(data: bytes, names: list[str], header_line: int, delimiter: str):
    invalid: list[tuple[int | None, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    def parse(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=header_line, use_threads=threads, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        table = parse(threads=True)
        if invalid:
            # Line numbers of invalid rows are only known to a single-threaded parse.
            invalid.clear()
            table = parse(threads=False)
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"cannot parse as CSV: {exc}") from exc
    return table, invalid


def _place_lines(
    parsed: ParsedFile, data: bytes, invalid: list[tuple[int | None, str]], header_line: int, delimiter: str
) -> bool:
    """Give every parsed row its physical line; re-read invalid spans one line at a time.

    False when rows and lines cannot be matched exactly: the caller then reads line by line.
    """
    if data.count(b"\r") != data.count(b"\r\n"):
        return False  # pyarrow ends rows at a bare CR too, so its rows are not our lines
    total_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    used = np.ones(total_lines + 1, dtype=bool)
    used[0] = False
    used[1 : header_line + 1] = False
    # pyarrow numbers rows, not lines: a row that swallowed the next line shifts the ones after it.
    extra = 0
    unended = parsed.unterminated_last_line()
    for number, text in sorted(invalid, key=lambda item: item[0] or 0):
        if number is None:
            return False
        pieces = text.split("\n")
        first = number + extra
        if first + len(pieces) - 1 > total_lines:
            return False
        used[first : first + len(pieces)] = False
        extra += len(pieces) - 1
        for offset, piece in enumerate(pieces):
            _classify_line(parsed, first + offset, piece.rstrip("\r"), delimiter, unended)
    lines = np.nonzero(used)[0].astype(np.int64)
    table = parsed.table
    if len(lines) != table.num_rows:
        return False  # a quoted field ran over a line end: the caller re-reads line by line
    table = table.append_column(LINE_COLUMN, arrays.numbers(lines))
    # pyarrow reads a blank line as a row of empty fields: drop blank lines, reject lines of bare delimiters.
    empty_rows = _rows_with_no_values(table)
    if len(empty_rows):
        empty_lines = table[LINE_COLUMN].take(empty_rows).to_pylist()
        raw = parsed.raw_lines(set(empty_lines))
        for line in empty_lines:
            if raw.get(line, "").strip():
                parsed.bad_lines.append(BadLine(line, raw[line], "record has no values"))
        keep = np.ones(table.num_rows, dtype=bool)
        keep[empty_rows.to_pylist()] = False  # few: blank lines
        table = table.filter(arrays.booleans(keep))
    parsed.table = table
    return True


EMPTY = arrays.string("")
CUT_SHORT = (
    "the last line has no line end: it was cut short while being written - ingest the file again once it is complete"
)


def _line_fields(text: str, delimiter: str, last_unended: bool = False) -> list[str] | str:
    """The fields of one line on its own, or the reason it cannot be read."""
    if text.count('"') % 2:
        return CUT_SHORT if last_unended else "unbalanced quotes: a quoted field is not closed on this line"
    fields = split_fields(text, delimiter)
    return _UNREADABLE if fields is None else fields


def _classify_line(parsed: ParsedFile, line: int, text: str, delimiter: str, unended: int | None) -> None:
    if not text.strip():
        return  # a blank line is not a row
    fields = _line_fields(text, delimiter, line == unended)
    if isinstance(fields, str):
        parsed.bad_lines.append(BadLine(line, text, fields))
    else:
        # The format reader decides: a row of another known layout, or a reject naming the field count.
        parsed.odd_rows.append(OddRow(line, fields, text))


def _parse_line_by_line(parsed: ParsedFile, data: bytes, names: list[str], header_line: int, delimiter: str) -> None:
    """The exact, slower reading: each physical line parsed on its own."""
    columns: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    unended = parsed.unterminated_last_line()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number <= header_line:
            continue
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip():
            continue
        fields = _line_fields(text, delimiter, number == unended)
        if isinstance(fields, str):
            parsed.bad_lines.append(BadLine(number, text, fields))
        elif len(fields) != len(names):
            parsed.odd_rows.append(OddRow(number, fields, text))
        elif not any(fields):
            parsed.bad_lines.append(BadLine(number, text, "record has no values"))
        else:
            for column, value in zip(columns, fields, strict=True):
                column.append(value)
            lines.append(number)
    table = {name: arrays.strings(column) for name, column in zip(names, columns, strict=True)}
    table[LINE_COLUMN] = arrays.numbers(lines)
    parsed.table = pa.table(table)


def _rows_with_no_values(table: pa.Table) -> pa.Array:
    """Indices of rows whose every field is empty, narrowing column by column (most rows leave at once)."""
    candidates = None
    for name in table.column_names:
        if name == LINE_COLUMN:
            continue
        column = table[name] if candidates is None else table[name].take(candidates)
        found = pc.indices_nonzero(pc.equal(column, EMPTY))
        candidates = found if candidates is None else candidates.take(found)
        if len(candidates) == 0:
            break
    return candidates if candidates is not None else arrays.numbers([], pa.uint64())
