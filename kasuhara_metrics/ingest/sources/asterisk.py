"""Asterisk CDR files (`Master.csv`): every cdr_csv layout and the cdr_custom default, told apart
by column count and value patterns, never by the file name.

cdr_csv writes 16 fields, plus uniqueid and/or userfield (loguniqueid, loguserfield in cdr.conf),
plus peeraccount, linkedid and sequence (newcdrcolumns): 16, 17, 18, 19, 20 or 21 columns, no header.
cdr_custom's sample mapping writes another order (clid first), 18 or 19 columns.

Times are the server's clock: site time, or UTC with usegmtime=yes, which the uniqueid epochs
reveal. A caller that is the device its own channel names (`SIP/123654987-0000a1` with src
123654987) is a staff softphone (CallTyping.caller_device_in_channel). A leg with no destination
channel reached nobody.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from ...common import arrays
from ...common.errors import InputFileError, SourceLocation
from ..clock import clock_from_uniqueids
from ..csvread import CUT_SHORT, LINE_COLUMN, BadLine, read_csv_rows, sample_rows
from ..encoding import to_utf8
from ..stores.calls import CallTyping, canonical_table
from .base import IngestOptions, Sample, Source, Staged, staged_from_csv

_BASE = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
_NEW = ("peeraccount", "linkedid", "sequence")
_CUSTOM = (
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "uniqueid",
    "userfield",
)


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    fields: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.fields)

    def index(self, field: str) -> int | None:
        return self.fields.index(field) if field in self.fields else None

    def value(self, fields: Sequence[str], name: str) -> str:
        """The value of a column every layout has (start, answer, end, duration, billsec, disposition)."""
        return fields[self.fields.index(name)]


LAYOUTS: tuple[Layout, ...] = (
    Layout("cdr_csv-16", "Asterisk cdr_csv, 16 columns", _BASE),
    Layout("cdr_csv-17u", "Asterisk cdr_csv with uniqueid, 17 columns", _BASE + ("uniqueid",)),
    Layout("cdr_csv-17f", "Asterisk cdr_csv with userfield, 17 columns", _BASE + ("userfield",)),
    Layout("cdr_csv-18", "Asterisk cdr_csv with uniqueid and userfield, 18 columns", _BASE + ("uniqueid", "userfield")),
    Layout("cdr_csv-19", "Asterisk cdr_csv with newcdrcolumns, 19 columns", _BASE + _NEW),
    Layout("cdr_csv-20u", "Asterisk cdr_csv with uniqueid and newcdrcolumns, 20 columns", _BASE + ("uniqueid",) + _NEW),
    Layout(
        "cdr_csv-20f", "Asterisk cdr_csv with userfield and newcdrcolumns, 20 columns", _BASE + ("userfield",) + _NEW
    ),
    Layout(
        "cdr_csv-21",
        "Asterisk cdr_csv with uniqueid, userfield and newcdrcolumns, 21 columns",
        _BASE + ("uniqueid", "userfield") + _NEW,
    ),
    Layout("cdr_custom-18", "Asterisk cdr_custom (sample mapping), 18 columns", _CUSTOM),
    Layout("cdr_custom-19", "Asterisk cdr_custom (sample mapping) with sequence, 19 columns", _CUSTOM + ("sequence",)),
)

DISPOSITIONS = {
    "ANSWERED": "ANSWERED",
    "NO ANSWER": "NO ANSWER",
    "BUSY": "BUSY",
    "FAILED": "FAILED",
    "CONGESTION": "CONGESTION",
    # CDR(disposition,u): numeric forms.
    "4": "ANSWERED",
    "1": "NO ANSWER",
    "2": "BUSY",
    "3": "FAILED",
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_INT = re.compile(r"^-?\d+$")
_UNIQUEID = re.compile(r"^(\S+-)?\d{9,10}\.\d+$")


def _row_fits(layout: Layout, fields: Sequence[str]) -> bool:
    """Dates, durations and a disposition word where the layout puts them."""
    if len(fields) != layout.width:
        return False
    return (
        bool(_DATE.match(layout.value(fields, "start")))
        and bool(_DATE.match(layout.value(fields, "end")))
        and (layout.value(fields, "answer") == "" or bool(_DATE.match(layout.value(fields, "answer"))))
        and bool(_INT.match(layout.value(fields, "duration")))
        and bool(_INT.match(layout.value(fields, "billsec")))
        and layout.value(fields, "disposition").upper() in DISPOSITIONS
    )


def _id_evidence(layout: Layout, fields: Sequence[str]) -> int:
    """+1 for each id column that looks like one, -1 for each that does not: tells 17u from 17f."""
    evidence = 0
    for name, pattern in (("uniqueid", _UNIQUEID), ("linkedid", _UNIQUEID), ("sequence", _INT)):
        position = layout.index(name)
        if position is not None and fields[position]:
            evidence += 1 if pattern.match(fields[position]) else -1
    return evidence


# Recognising a file and reading it look at the same first rows: they are judged once (2.5 ms a file).
@lru_cache(maxsize=4)
def _best_layout_of(rows: tuple[tuple[str, ...], ...]) -> Layout | None:
    return _best_layout(rows)


def _best_layout(rows: Sequence[Sequence[str]]) -> Layout | None:
    best: tuple[int, int, int, Layout] | None = None
    for order, layout in enumerate(LAYOUTS):
        fitting = [fields for fields in rows if _row_fits(layout, fields)]
        if not fitting:
            continue
        rank = (len(fitting), sum(_id_evidence(layout, fields) for fields in fitting), -order, layout)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return best[3] if best else None


def layout_for_row(fields: list[str]) -> Layout | None:
    """The best layout for a single row, if it fits one."""
    return _best_layout([fields])


def detect_layout(path: str, rows: list[tuple[int, list[str]]]) -> Layout:
    """The layout that most sampled rows fit exactly; an error naming the first line if none fits.

    One exact fit is enough: no other export puts dates, durations and a disposition word in
    those places, and rows of the file that fit no layout are rejected one by one.
    """
    rows = [(line, fields) for line, fields in rows if any(f.strip() for f in fields)]
    if not rows:
        raise InputFileError(f"{path} has no rows - is it empty?", SourceLocation(path))
    best = _best_layout_of(tuple(tuple(fields) for _, fields in rows))
    if best is None:
        line, fields = rows[0]
        raise InputFileError(
            f"{path} does not look like an Asterisk CDR file: line {line} has {len(fields)} columns without the "
            "start/answer/end dates, durations and disposition of cdr_csv (16-21 columns) - if it comes from "
            "another phone system, describe its columns in a mapping file and pass --mapping FILE "
            "(see data/samples/mapping-example.toml)",
            SourceLocation(path, line),
        )
    return best


_TYPING = CallTyping(
    time_formats=("%Y-%m-%d %H:%M:%S",),
    dispositions=tuple(DISPOSITIONS.items()),
    uses_lastapp=True,
    answer_needs_dstchannel=True,
    caller_device_in_channel=True,
)


class Asterisk(Source):
    name = "asterisk"
    record_kind = "calls"
    description = "Asterisk cdr_csv / cdr_custom Master.csv (16-21 columns, no header)"

    def recognise(self, sample: Sample) -> bool:
        try:
            detect_layout(sample.path, sample.rows)
        except InputFileError:
            return False
        return True

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        decoded = to_utf8(raw, path, options.encoding)
        layout = detect_layout(path, sample_rows(decoded.data, limit=50))
        parsed = read_csv_rows(path, raw, column_count=layout.width, decoded=decoded)
        table = parsed.table
        named = {name: table[f"c{i}"] for i, name in enumerate(layout.fields)}
        named[LINE_COLUMN] = table[LINE_COLUMN]
        rows = pa.table(named)
        rejects, extra = _other_layout_rows(parsed, layout)
        if extra:
            # A field only the other layout has (a uniqueid the main layout lacks) is kept for its rows.
            for name in dict.fromkeys(name for row in extra for name in row):
                if name not in rows.column_names:
                    rows = rows.append_column(name, pa.nulls(rows.num_rows, pa.string()))
            extra_table = pa.table(
                {
                    name: (arrays.numbers if name == LINE_COLUMN else arrays.strings)([row.get(name) for row in extra])
                    for name in rows.column_names
                }
            )
            rows = pa.concat_tables([rows, extra_table])
        clock = self.clock(options.site)
        if not clock.proven and "uniqueid" in rows.column_names:
            clock = _clock_from_rows(rows, options.site.timezone) or clock
        return staged_from_csv(parsed, self.name, f"asterisk-{layout.name}", _canonical(rows), clock, rejects, _TYPING)


def _other_layout_rows(parsed, layout: Layout) -> tuple[list[BadLine], list[dict]]:
    """Rows of another width: of another layout of the same family (a cdr.conf changed), else rejects."""
    family = layout.name.split("-")[0]
    rejects: list[BadLine] = list(parsed.bad_lines)
    extra: list[dict] = []
    cut_short = parsed.unterminated_last_line()
    for odd in parsed.odd_rows:
        fitting = layout if len(odd.fields) == layout.width else layout_for_row(odd.fields)
        if odd.line == cut_short and fitting is not layout:
            # A file copied while the PBX was still writing it: the record is incomplete.
            rejects.append(BadLine(odd.line, odd.raw, f"{CUT_SHORT} (it has {len(odd.fields)} fields)"))
            continue
        if fitting is None or fitting.name.split("-")[0] != family:
            rejects.append(
                BadLine(
                    odd.line,
                    odd.raw,
                    f"has {len(odd.fields)} fields, which fits no Asterisk layout "
                    f"of this family; the file is {layout.description}",
                )
            )
            continue
        values = dict(zip(fitting.fields, odd.fields, strict=True))
        values[LINE_COLUMN] = odd.line
        extra.append(values)
    return rejects, extra


def _canonical(rows: pa.Table) -> pa.Table:
    def column(name: str):
        return rows[name] if name in rows.column_names else None

    src, clid = column("src"), column("clid")
    # src is the caller ID number; when it is empty, clid ("Name" <number>) still says who or why not.
    columns = {
        "caller": pc.if_else(pc.equal(pc.utf8_trim_whitespace(src), arrays.string("")), clid, src),
        "dialled": column("dst"),
        "leg_sequence": column("sequence"),
    }
    for name in (
        "dcontext",
        "channel",
        "dstchannel",
        "lastapp",
        "start",
        "answer",
        "end",
        "duration",
        "billsec",
        "disposition",
        "uniqueid",
        "linkedid",
    ):
        if (value := column(name)) is not None:
            columns[name] = value
    return canonical_table({name: value for name, value in columns.items() if value is not None}, rows[LINE_COLUMN])


def _clock_from_rows(rows: pa.Table, site_zone: str):
    """Read the clock off rows spread over the file: every n-th row, n the file's rows // 2,000 (a file
    of under 4,000 rows votes whole)."""
    step = max(1, rows.num_rows // 2000)
    sample = rows.select(["start", "uniqueid"])
    if step > 1:
        sample = sample.take(arrays.numbers(range(0, rows.num_rows, step)))
    return clock_from_uniqueids(sample["start"], sample["uniqueid"], site_zone)
