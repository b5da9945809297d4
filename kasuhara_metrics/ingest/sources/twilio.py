"""Twilio call logs: the Console's call-log CSV export, and Call resources as JSON (BulkExport day files).

The Call resource's fields: sid (CA + 32 hex digits), parent_call_sid, from, to, direction
(inbound, outbound-api, outbound-dial), status (completed, busy, no-answer, canceled, failed),
start_time, end_time (RFC 2822 `Tue, 31 Aug 2010 20:36:29 +0000`, or ISO-8601 UTC), duration
(seconds). The CSV names them in words ("Call Sid", "Start Time", ...) or as in the API: both are read.

A `<Dial>` leg (outbound-dial, with the inbound call as its parent) is a leg of that call, and a
person picked up when it completed. When a file has such legs, an inbound call that none of them
completed was answered by TwiML alone (a menu, a message): a machine. A file without any cannot
tell, and says so. Withheld callers arrive as Twilio's pseudo-numbers (+266696687 ANONYMOUS, ...).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ...common import arrays
from ...common.errors import InputFileError, SourceLocation
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows
from ..jsonread import looks_like_json, read_json_records, text_of
from ..stores.calls import CallTyping, canonical_table
from .base import IngestOptions, Sample, Source, Staged, staged_from_csv, staged_from_json

STATUSES = (
    ("COMPLETED", "ANSWERED"),
    ("IN-PROGRESS", "ANSWERED"),
    ("BUSY", "BUSY"),
    ("NO-ANSWER", "NO ANSWER"),
    ("CANCELED", "NO ANSWER"),
    ("FAILED", "FAILED"),
)
FIELDS = ("sid", "parent_call_sid", "from", "to", "direction", "status", "start_time", "end_time", "duration")
REQUIRED = ("sid", "from", "to", "status", "start_time")
TIME_FORMATS = ("%a, %d %b %Y %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%H:%M:%S %Y-%m-%d")
_SID = re.compile(rb'"sid"\s*:\s*"CA[0-9a-fA-F]{32}"')


def _field_name(header: str) -> str:
    """'Call Sid', 'CallSid', 'call_sid' and 'sid' are one field; 'Start Time' is start_time."""
    name = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return {
        "call_sid": "sid",
        "callsid": "sid",
        "parent_sid": "parent_call_sid",
        "parentcallsid": "parent_call_sid",
        "starttime": "start_time",
        "endtime": "end_time",
    }.get(name, name)


class Twilio(Source):
    name = "twilio"
    record_kind = "calls"
    description = "Twilio call logs (Console CSV export, or Call resources as JSON)"
    utc_by_format = "UTC, as Twilio writes its times"

    def recognise(self, sample: Sample) -> bool:
        if looks_like_json(sample.text):
            return bool(_SID.search(sample.text))
        names = {_field_name(f) for f in sample.rows[0][1]} if sample.rows else set()
        return set(REQUIRED) <= names

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        if looks_like_json(raw[:4096].lstrip(b"\xef\xbb\xbf")):
            staged = self._read_json(path, raw, options)
        else:
            staged = self._read_csv(path, raw, options)
        if not pc.any(pc.is_valid(staged.table["linkedid"])).as_py():
            staged.notes.append(
                "no <Dial> legs in this file: an inbound call answered only by TwiML (a menu) "
                "cannot be told from one a person answered"
            )
        return staged

    def _read_csv(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        parsed = read_csv_rows(path, raw, header=True, encoding=options.encoding)
        names = [_field_name(h) for h in parsed.header or []]
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise InputFileError(
                f"{path} has no {missing[0]} column - a Twilio call log names sid, from, to, status and start time",
                SourceLocation(path, 1),
            )
        rejects = list(parsed.bad_lines) + [
            BadLine(odd.line, odd.raw, f"has {len(odd.fields)} fields; the header has {len(names)}")
            for odd in parsed.odd_rows
        ]
        empty = arrays.strings([""] * parsed.table.num_rows)
        fields = {
            name: pc.utf8_trim_whitespace(parsed.table[f"c{names.index(name)}"]) if name in names else empty
            for name in FIELDS
        }
        return staged_from_csv(
            parsed,
            self.name,
            "twilio-csv",
            _canonical(fields, parsed.table[LINE_COLUMN]),
            self.clock(options.site),
            rejects,
            _typing(fields),
        )

    def _read_json(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        read = read_json_records(path, raw, options.encoding)
        rejects: list[BadLine] = []
        kept = []
        for line, record in read.records:
            if not record.get("sid"):
                rejects.append(BadLine(line, read.raw.get(line, ""), "no sid: not a Twilio call record"))
            else:
                kept.append((line, record))
        fields = {name: arrays.strings([text_of(record.get(name)) or "" for _, record in kept]) for name in FIELDS}
        table = _canonical(fields, arrays.numbers([line for line, _ in kept]))
        return staged_from_json(
            read, self.name, "twilio-json", table, self.clock(options.site), rejects, _typing(fields)
        )


def _typing(fields: dict) -> CallTyping:
    dial_legs = pc.any(pc.not_equal(fields["parent_call_sid"], arrays.string(""))).as_py() or False
    return CallTyping(time_formats=TIME_FORMATS, dispositions=STATUSES, answer_needs_dstchannel=dial_legs)


def _canonical(fields: dict, lines) -> pa.Table:
    parent = fields["parent_call_sid"]
    has_parent = pc.not_equal(parent, arrays.string(""))
    direction = pc.utf8_lower(fields["direction"])
    none = arrays.string(None)
    columns = {
        "caller": fields["from"],
        "dialled": fields["to"],
        "direction_hint": pc.if_else(
            pc.equal(direction, arrays.string("inbound")),
            arrays.string("inbound"),
            pc.if_else(
                pc.and_(pc.starts_with(direction, "outbound"), pc.invert(has_parent)), arrays.string("outbound"), none
            ),
        ),
        "start": fields["start_time"],
        "end": fields["end_time"],
        "duration": fields["duration"],
        "billsec": fields["duration"],
        "disposition": fields["status"],
        "uniqueid": fields["sid"],
        # a <Dial> leg belongs to its parent call, and a person picked up when it completed
        "linkedid": pc.if_else(has_parent, parent, none),
        "dstchannel": pc.if_else(has_parent, fields["sid"], arrays.string("")),
    }
    return canonical_table(columns, lines)
