"""Other phone systems' CSV exports, read through a mapping file (TOML).

Japanese PBX and SaaS exports have headers such as 発信者番号, 着信日時, 通話時間 and 内線, times like
`2026/09/01 9:03:15` (or epoch seconds), talk time as seconds, H:MM:SS or MM:SS, and often CP932
bytes. A mapping names which header (or, for files without one, which column number) holds which
field; see data/samples/mapping-example.toml and docs/ingest.md. Every mistake in a mapping is
found when it is loaded, with its file and line, never half-way through an ingest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ...common import arrays
from ...common.errors import InputFileError, KasuharaError, MappingError, SourceLocation
from ...common.site import check_clock_setting
from ...common.tomlfile import TomlDocument, load_toml, reject_unknown_keys
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows, sample_rows
from ..encoding import normalise_encoding_name, to_utf8
from ..filelog import value_shape
from ..stores.calls import DEFAULT_TIME_FORMATS, CallTyping, canonical_table
from ..timesql import DURATION_FORMATS, EPOCH_FORMATS
from .base import IngestOptions, Source, Staged, staged_from_csv

# Fields a mapping may name, and the canonical column each fills.
MAPPABLE_FIELDS = {
    "start": "start",
    "answer": "answer",
    "end": "end",
    "duration": "duration",
    "talk": "billsec",
    "caller": "caller",
    "dialled": "dialled",
    "extension": None,
    "remote": None,
    "direction": "direction_hint",
    "status": "disposition",
    "call_id": "call_id",
}
STATUS_OUTCOMES = {"answered": "ANSWERED", "no_answer": "NO ANSWER", "busy": "BUSY", "failed": "FAILED"}
DIRECTIONS = ("inbound", "outbound", "internal")
TOP_KEYS = (
    "name",
    "description",
    "encoding",
    "delimiter",
    "header",
    "skip_rows",
    "time_formats",
    "duration_format",
    "clock",
    "columns",
    "status",
    "direction",
)


@dataclass(frozen=True)
class Mapping:
    name: str
    path: str
    columns: dict[str, str | int]  # field -> header text, or 1-based column number when header = false
    encoding: str = "auto"
    delimiter: str = ","
    header: bool = True
    skip_rows: int = 0
    time_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS
    duration_format: str = "seconds"
    clock: str = "auto"
    status: dict[str, str] = field(default_factory=dict)  # upper-cased export value -> outcome
    direction: dict[str, str] = field(default_factory=dict)  # export value -> inbound/outbound/internal


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; errors name the file, the key and its line."""
    doc = load_toml(path, MappingError)
    data = doc.data
    reject_unknown_keys(doc, data, TOP_KEYS, "", MappingError)
    name = _string(doc, data, "name", Path(path).stem)
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MappingError(
            'a mapping needs a [columns] table naming the export\'s headers, e.g. start = "着信日時"',
            doc.locate("columns"),
        )
    reject_unknown_keys(doc, columns, MAPPABLE_FIELDS, "columns", MappingError)
    header = data.get("header", True)
    if not isinstance(header, bool):
        raise MappingError("header must be true (the first line names the columns) or false", doc.locate("header"))
    for key, column in columns.items():
        if isinstance(column, int) and not isinstance(column, bool):
            if column < 1:
                raise MappingError(f"columns.{key} must be a column number from 1", doc.locate(f"columns.{key}"))
        elif not header:
            raise MappingError(
                f"columns.{key} must be a column number (1 is the first): the file has no header (header = false)",
                doc.locate(f"columns.{key}"),
            )
        elif not isinstance(column, str) or not column.strip():
            raise MappingError(
                f"columns.{key} must be the header text of a column, or its number (1 is the first)",
                doc.locate(f"columns.{key}"),
            )
    skip_rows = data.get("skip_rows", 0)
    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or skip_rows < 0:
        raise MappingError(
            "skip_rows must be a number of lines (0 or more) above the header or the first row", doc.locate("skip_rows")
        )
    if "start" not in columns:
        raise MappingError("columns.start is required: the column with the call's start time", doc.locate("columns"))
    has_parties = "caller" in columns or {"direction", "remote", "extension"} <= set(columns)
    if not has_parties:
        raise MappingError(
            "name the caller: columns.caller (and columns.dialled), or columns.direction with "
            "columns.remote (相手先番号) and columns.extension (内線)",
            doc.locate("columns"),
        )
    if not {"end", "duration", "talk"} & set(columns):
        raise MappingError("name at least one of columns.end, columns.duration or columns.talk", doc.locate("columns"))
    duration_format = _string(doc, data, "duration_format", "seconds")
    if duration_format not in DURATION_FORMATS:
        raise MappingError(
            f"duration_format must be one of {', '.join(DURATION_FORMATS)}, not '{duration_format}'",
            doc.locate("duration_format"),
        )
    time_formats = data.get("time_formats", list(DEFAULT_TIME_FORMATS))
    if isinstance(time_formats, str):
        time_formats = [time_formats]
    if (
        not isinstance(time_formats, list)
        or not time_formats
        or not all(isinstance(t, str) and ("%" in t or t in EPOCH_FORMATS) for t in time_formats)
    ):
        raise MappingError(
            'time_formats must be a list of strptime formats such as "%Y/%m/%d %H:%M:%S", or "epoch" '
            '(seconds) / "epoch_ms" (milliseconds)',
            doc.locate("time_formats"),
        )
    for time_format in time_formats:
        if problem := _time_format_problem(time_format):
            raise MappingError(f"time_formats: '{time_format}' {problem}", doc.locate("time_formats"))
    clock = _string(doc, data, "clock", "auto")
    if problem := check_clock_setting(clock):
        raise MappingError(
            f'{problem} - say "utc" when the export writes UTC times without an offset', doc.locate("clock")
        )
    status = _value_table(doc, data, "status", STATUS_OUTCOMES)
    if "status" in columns and not status:
        raise MappingError(
            'columns.status is mapped, so add a [status] table: answered = ["応答"], busy = [...], ...',
            doc.locate("columns.status"),
        )
    direction = _value_table(doc, data, "direction", {d: d for d in DIRECTIONS})
    if "direction" in columns and not direction:
        raise MappingError(
            'columns.direction is mapped, so add a [direction] table: inbound = ["着信"], outbound = ["発信"]',
            doc.locate("columns.direction"),
        )
    encoding = _string(doc, data, "encoding", "auto")
    try:
        normalise_encoding_name(encoding, doc.path)
    except InputFileError as exc:
        raise MappingError(exc.message, doc.locate("encoding")) from None
    delimiter = _string(doc, data, "delimiter", ",")
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1:
        raise MappingError('delimiter must be one character, e.g. "," or "\\t"', doc.locate("delimiter"))
    return Mapping(
        name=name,
        path=doc.path,
        columns=dict(columns),
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        skip_rows=skip_rows,
        clock=clock,
        time_formats=tuple(time_formats),
        duration_format=duration_format,
        status=status,
        direction=direction,
    )


def _time_format_problem(time_format: str) -> str | None:
    """Why DuckDB cannot read times with this format, or None (epoch words are always readable)."""
    if time_format in EPOCH_FORMATS:
        return None
    try:
        duckdb.connect().execute("SELECT try_strptime('2026-09-01 09:03:15', ?)", [time_format]).fetchall()
    except duckdb.Error as exc:
        reason = str(exc).split(":", 1)[-1].strip()
        return f"is not a strptime format DuckDB reads ({reason}) - see the strptime codes in docs/ingest.md"
    return None


def _string(doc: TomlDocument, data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise MappingError(f"{key} must be a string", doc.locate(key))
    return value


def _value_table(doc: TomlDocument, data: dict, key: str, outcomes: dict[str, str]) -> dict[str, str]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise MappingError(f"{key} must be a table: [{key}]", doc.locate(key))
    reject_unknown_keys(doc, table, outcomes, key, MappingError)
    values: dict[str, str] = {}
    for outcome, words in table.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise MappingError(f"{key}.{outcome} must be a list of the export's values", doc.locate(f"{key}.{outcome}"))
        for word in words:
            values[word.strip().upper()] = outcomes[outcome]
    return values


class Mapped(Source):
    name = "mapped"
    record_kind = "calls"
    description = "any CSV export, read through a mapping file (--mapping, or mapping.toml in the nightly inbox)"

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        mapping = options.mapping
        if mapping is None:  # the driver picks this source only for a mapping
            raise KasuharaError(f"{path}: the mapped source needs a mapping (--mapping FILE)")
        return read_mapped(path, raw, mapping, self.clock(options.site, mapping.clock, f"clock in {mapping.path}"))


def read_mapped(path: str, raw: bytes, mapping: Mapping, clock) -> Staged:
    """Parse a mapped export into canonical call rows."""
    decoded = to_utf8(raw, path, mapping.encoding)
    first = sample_rows(decoded.data, limit=1, delimiter=mapping.delimiter, after_line=mapping.skip_rows)
    parsed = read_csv_rows(
        path,
        raw,
        header=mapping.header,
        delimiter=mapping.delimiter,
        decoded=decoded,
        skip_lines=mapping.skip_rows,
        column_count=None if mapping.header or not first else len(first[0][1]),
    )
    header = parsed.header or []
    named = [h for h in mapping.columns.values() if isinstance(h, str)]
    missing = [h for h in named if h not in header]
    if missing:
        raise InputFileError(
            f"column {missing[0]} (named in {mapping.path}) is not in the header of {path} - the header has: "
            f"{', '.join(header[:12])}; fix the header text in the mapping",
            SourceLocation(path, mapping.skip_rows + 1),
        )
    width = len(header) if mapping.header else len(first[0][1])
    numbered = [c for c in mapping.columns.values() if isinstance(c, int) and c > width]
    if numbered:
        raise InputFileError(
            f"{mapping.path} names column {numbered[0]}, but {path} has {width} columns - "
            "fix the column number in the mapping",
            SourceLocation(path),
        )
    position = {name: f"c{i}" for i, name in enumerate(header)}
    rejects = list(parsed.bad_lines)
    rejects.extend(
        BadLine(
            odd.line,
            odd.raw,
            f"has {len(odd.fields)} fields; {'the header' if mapping.header else 'its first row'} has {width}",
        )
        for odd in parsed.odd_rows
    )
    table = parsed.table

    def column(field_name: str):
        where = mapping.columns[field_name]
        return table[f"c{where - 1}" if isinstance(where, int) else position[where]]

    direction = None
    if "direction" in mapping.columns:
        direction = _map_values(column("direction"), mapping.direction)
        unknown = pc.and_(
            pc.is_null(direction), pc.not_equal(pc.utf8_trim_whitespace(column("direction")), arrays.string(""))
        )
        if pc.any(unknown).as_py():
            lines = set(table.filter(unknown)[LINE_COLUMN].to_pylist())
            raw_lines = parsed.raw_lines(lines)
            for line, value in zip(
                table.filter(unknown)[LINE_COLUMN].to_pylist(),
                column("direction").filter(unknown).to_pylist(),
                strict=True,
            ):
                rejects.append(
                    BadLine(
                        line,
                        raw_lines.get(line, ""),
                        f"direction of the form '{value_shape(value)}' is not in the mapping's [direction] table",
                    )
                )
            keep = pc.invert(unknown)
            table, direction = table.filter(keep), direction.filter(keep)

    columns: dict[str, pa.Array] = {
        canonical: column(field_name)
        for field_name, canonical in MAPPABLE_FIELDS.items()
        if canonical and field_name in mapping.columns
    }
    if direction is not None:
        columns["direction_hint"] = direction
        if "caller" not in mapping.columns:
            # 着信: the remote party called the extension; 発信: the extension called the remote party.
            outbound = pc.fill_null(pc.equal(direction, arrays.string("outbound")), arrays.boolean(False))
            columns["caller"] = pc.if_else(outbound, column("extension"), column("remote"))
            columns["dialled"] = pc.if_else(outbound, column("remote"), column("extension"))
    if "dialled" not in columns and "extension" in mapping.columns:
        columns["dialled"] = column("extension")
    typing = CallTyping(
        time_formats=mapping.time_formats,
        duration_format=mapping.duration_format,
        dispositions=tuple(sorted(mapping.status.items())) if "status" in mapping.columns else None,
        talk_is_span=not {"talk", "answer"} & set(mapping.columns),
    )
    staged = staged_from_csv(
        parsed, "mapped", f"mapped:{mapping.name}", canonical_table(columns, table[LINE_COLUMN]), clock, rejects, typing
    )
    if mapping.skip_rows:
        staged.notes.append(
            f"{mapping.skip_rows} lines above the {'header' if mapping.header else 'rows'} skipped, as the mapping says"
        )
    return staged


def _map_values(values: pa.ChunkedArray, table: dict[str, str]) -> pa.ChunkedArray:
    """Export values -> canonical words through a mapping table; null where a value is not listed."""
    keys = list(table)
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    index = pc.index_in(upper, value_set=arrays.strings(keys))
    return pc.take(arrays.strings([table[k] for k in keys]), index)
