"""3CX CDR output files (`cdr.log`): one line per call, no header, no quoting.

Fields in 3CX's default order: historyid (`Call 100001`), callid, duration, time-start,
time-answered, time-end, reason-terminated, from-no, to-no, from-dn, to-dn, dial-no,
reason-changed, final-number, final-dn, bill-code, bill-rate, bill-cost, bill-name, chain
(`Chain: a;b;`); sites may enable from-type, to-type, final-type, the display names and
missed-queue-calls after them. Times are `YYYY/MM/DD HH:MM:SS` in UTC. Lines end in CRLF, often
with a blank line after each record. Extensions are written `Ext.101`.

`duration` is not talk time (it can run from start to end): talk is answer to end. With the type
fields, a call answered by an IVR, a queue or voicemail (final-type Ivr, Queue, VMail) reached no
person; without them, an answered call counts as answered by staff.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from ...common import arrays
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows
from ..encoding import to_utf8
from ..stores.calls import CallTyping, canonical_table
from .base import HeaderlessSource, IngestOptions, Staged, staged_from_csv

FIELDS = (
    "historyid callid duration time-start time-answered time-end reason-terminated from-no to-no from-dn to-dn "
    "dial-no reason-changed final-number final-dn bill-code bill-rate bill-cost bill-name chain from-type "
    "to-type final-type from-dispname to-dispname final-dispname missed-queue-calls"
).split()
DEFAULT_WIDTH = FIELDS.index("chain") + 1  # 20: what 3CX writes unless more fields are enabled
TYPED_WIDTH = FIELDS.index("final-type") + 1
# reason-terminated of a call nobody answered -> outcome (v16/v18 names, and v20's lower-case ones).
UNANSWERED = {
    "targetbusy": "BUSY",
    "routebusy": "BUSY",
    "busy": "BUSY",
    "noanswertimeout": "NO ANSWER",
    "timeout": "NO ANSWER",
    "terminatedbysrc": "NO ANSWER",
    "src_participant_terminated": "NO ANSWER",
    "failed_cancelled": "NO ANSWER",
    "terminatedbydst": "NO ANSWER",
    "dst_participant_terminated": "NO ANSWER",
    "redirected": "NO ANSWER",
}
# final-type of a call a machine took: an IVR, a queue nobody left, voicemail.
MACHINE_TYPES = ["ivr", "queue", "vmail", "voicemail"]
_HISTORY = re.compile(r"^Call \d+$")
_STAMP = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$")
_TYPING = CallTyping(
    time_formats=("%Y/%m/%d %H:%M:%S",),
    dispositions=(("ANSWERED", "ANSWERED"), ("BUSY", "BUSY"), ("FAILED", "FAILED"), ("NO ANSWER", "NO ANSWER")),
)


class ThreeCx(HeaderlessSource):
    name = "3cx"
    record_kind = "calls"
    description = "3CX cdr.log (Call N, callid, ... Chain: ...; no header)"
    utc_by_format = "UTC, as 3CX writes cdr.log"

    def fits(self, fields: list[str]) -> bool:
        return (
            len(fields) >= DEFAULT_WIDTH
            and bool(_HISTORY.match(fields[0].strip()))
            and bool(_STAMP.match(fields[3].strip()))
        )

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        decoded = to_utf8(raw, path, options.encoding)
        width = min(self.width(decoded.data, DEFAULT_WIDTH), len(FIELDS))
        parsed = read_csv_rows(path, raw, column_count=width, decoded=decoded)
        table = parsed.table
        rejects = list(parsed.bad_lines)
        extra = []
        for odd in parsed.odd_rows:
            # A display name with a comma in it shifts the fields after it: the call's own fields come first.
            if len(odd.fields) > width and self.fits(odd.fields):
                extra.append(odd)
            else:
                rejects.append(BadLine(odd.line, odd.raw, f"has {len(odd.fields)} fields; 3CX lines here have {width}"))
        if extra:
            shifted = {f"c{i}": arrays.strings(odd.fields[i] for odd in extra) for i in range(width)}
            shifted[LINE_COLUMN] = arrays.numbers(odd.line for odd in extra)
            table = pa.concat_tables([table, pa.table(shifted).select(table.column_names)])
        field = {name: pc.utf8_trim_whitespace(table[f"c{i}"]) for i, name in enumerate(FIELDS[:width])}
        answered = pc.not_equal(field["time-answered"], arrays.string(""))
        reason = pc.utf8_lower(field["reason-terminated"])
        never = pc.take(
            arrays.strings(list(UNANSWERED.values())),
            pc.index_in(reason, value_set=arrays.strings(list(UNANSWERED))),
        )
        final_dn = field["final-dn"]
        columns = {
            "caller": _extension_digits(field["from-no"]),
            "dialled": pc.if_else(pc.equal(final_dn, arrays.string("")), field["to-dn"], final_dn),
            "start": field["time-start"],
            "answer": field["time-answered"],
            "end": field["time-end"],
            "disposition": pc.if_else(
                answered, arrays.string("ANSWERED"), pc.fill_null(never, arrays.string("FAILED"))
            ),
            "uniqueid": field["historyid"],
            "linkedid": field["callid"],
        }
        typed = width >= TYPED_WIDTH
        if typed:  # who took the call at the end: a person (an extension, an outside line), or a machine
            machine = pc.is_in(pc.utf8_lower(field["final-type"]), value_set=arrays.strings(MACHINE_TYPES))
            columns["dstchannel"] = pc.if_else(
                machine,
                arrays.string(""),
                pc.if_else(pc.equal(final_dn, arrays.string("")), arrays.string("line"), final_dn),
            )
        typing = replace(_TYPING, answer_needs_dstchannel=typed)
        staged = staged_from_csv(
            parsed,
            self.name,
            f"3cx-cdr-{width}",
            canonical_table(columns, table[LINE_COLUMN]),
            self.clock(options.site),
            rejects,
            typing,
        )
        if not typed:
            staged.notes.append(
                "no final-type field: an IVR or queue answering cannot be told from staff - enable "
                "the type fields in 3CX's CDR output"
            )
        return staged


def _extension_digits(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """`Ext.101` -> `101`: an extension is staff; other values stay as written."""
    return pc.replace_substring_regex(values, pattern=r"^(?i:ext)\.?\s*", replacement="")
