"""FreeSWITCH mod_cdr_csv files: the `example` template (15 columns) and the built-in `default` (13).

No header. Columns: caller_id_name, caller_id_number, destination_number, context, start_stamp,
answer_stamp, end_stamp, duration, billsec, hangup_cause, uuid, bleg_uuid, accountcode (+ read_codec,
write_codec). Stamps are the server's local time; answer_stamp is empty when nobody answered.

A leg reached a person when it was bridged: its bleg_uuid names the other leg. An IVR answers
without a bridge, so such a leg is a machine's. With `legs = ab` the b-leg has its own row, whose
uuid is its a-leg's bleg_uuid: both are legs of one call. Excel-resaved copies (no quotes,
`2020/2/10 22:42`, caller `0`) are read too.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ...common import arrays
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows
from ..encoding import to_utf8
from ..stores.calls import CallTyping, canonical_table
from .base import HeaderlessSource, IngestOptions, Staged, staged_from_csv

EXAMPLE = (
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
    "read_codec",
    "write_codec",
)
WIDTHS = {15: "example", 13: "default"}

# Q.850 hangup causes of a call nobody answered -> the outcome.
UNANSWERED = {
    "USER_BUSY": "BUSY",
    "NO_ANSWER": "NO ANSWER",
    "NO_USER_RESPONSE": "NO ANSWER",
    "ORIGINATOR_CANCEL": "NO ANSWER",
    "NORMAL_CLEARING": "NO ANSWER",
    "CALL_REJECTED": "FAILED",
}
_STAMP = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2} \d{1,2}:\d{2}(:\d{2})?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CAUSE = re.compile(r"^[A-Z_]+$")
_TYPING = CallTyping(
    time_formats=("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"),
    dispositions=(("ANSWERED", "ANSWERED"), ("BUSY", "BUSY"), ("FAILED", "FAILED"), ("NO ANSWER", "NO ANSWER")),
    answer_needs_dstchannel=True,
)


class FreeSwitch(HeaderlessSource):
    name = "freeswitch"
    record_kind = "calls"
    description = "FreeSWITCH mod_cdr_csv (example or default template, 15 or 13 columns, no header)"

    def fits(self, fields: list[str]) -> bool:
        return (
            len(fields) in WIDTHS
            and bool(_STAMP.match(fields[4].strip()))
            and bool(_UUID.match(fields[10].strip()))
            and fields[7].strip().isdigit()
            and fields[8].strip().isdigit()
            and bool(_CAUSE.match(fields[9].strip()))
        )

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        decoded = to_utf8(raw, path, options.encoding)
        width = self.width(decoded.data, 15)
        parsed = read_csv_rows(path, raw, column_count=width, decoded=decoded)
        rejects = list(parsed.bad_lines) + [
            BadLine(
                odd.line,
                odd.raw,
                f"has {len(odd.fields)} fields; the file has {width} (FreeSWITCH {WIDTHS[width]} template)",
            )
            for odd in parsed.odd_rows
        ]
        table = parsed.table
        field = {name: pc.utf8_trim_whitespace(table[f"c{i}"]) for i, name in enumerate(EXAMPLE[:width])}
        answered = pc.not_equal(field["answer_stamp"], arrays.string(""))
        causes = arrays.strings(list(UNANSWERED))
        unanswered = pc.take(
            arrays.strings(list(UNANSWERED.values())), pc.index_in(field["hangup_cause"], value_set=causes)
        )
        columns = {
            "caller": field["caller_id_number"],
            "dialled": field["destination_number"],
            "dcontext": field["context"],
            "start": field["start_stamp"],
            "answer": field["answer_stamp"],
            "end": field["end_stamp"],
            "duration": field["duration"],
            "billsec": field["billsec"],
            "disposition": pc.if_else(
                answered, arrays.string("ANSWERED"), pc.fill_null(unanswered, arrays.string("FAILED"))
            ),
            "uniqueid": field["uuid"],
            "linkedid": _a_leg_of(field["uuid"], field["bleg_uuid"]),
            # bridged to another leg: a person's phone answered
            "dstchannel": field["bleg_uuid"],
        }
        clock = self.clock(options.site)
        return staged_from_csv(
            parsed,
            self.name,
            f"freeswitch-{WIDTHS[width]}-{width}",
            canonical_table(columns, table[LINE_COLUMN]),
            clock,
            rejects,
            _TYPING,
        )


def _a_leg_of(uuids: pa.ChunkedArray, bleg_uuids: pa.ChunkedArray) -> pa.Array:
    """Each row's call: its a-leg's uuid (a b-leg row is its a-leg's bleg_uuid), else its own."""
    a_of_b = {b: a for a, b in zip(uuids.to_pylist(), bleg_uuids.to_pylist(), strict=True) if b}
    return arrays.strings([a_of_b.get(u, u) for u in uuids.to_pylist()])
