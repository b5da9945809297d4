"""Read JSON exports record by record without losing one: JSON lines, objects back to back, or an array.

Amazon Connect contact records arrive one per line, or concatenated with no separator (Kinesis
Firehose); Twilio BulkExport day files are gzipped JSON lines. Each object is a record whose line is
the line it starts on. A record that is not valid JSON is kept as a rejected line, and reading goes
on from the next line that starts an object, so one damaged record never loses the rest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..common.errors import InputFileError, SourceLocation
from .csvread import BadLine
from .encoding import to_utf8

_DECODER = json.JSONDecoder()
# The text kept for a rejected record (rejects.raw_text): enough to find and fix it.
_RAW_LIMIT = 2000


@dataclass
class JsonRecords:
    path: str
    sha256: str
    encoding: str
    text: bytes  # the decoded file
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, object)
    raw: dict[int, str] = field(default_factory=dict)  # line -> the record's text
    bad: list[BadLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.records) + len(self.bad)


def unpacked(raw: bytes) -> bytes:
    """The bytes of a gzipped file (a BulkExport day file), else the bytes as they are."""
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputFileError(f"cannot unpack the gzip file: {exc} - was it copied completely?") from exc
    return raw


def looks_like_json(text: bytes) -> bool:
    return text.lstrip()[:1] in (b"{", b"[")


def read_json_records(path: str, raw: bytes, encoding: str = "auto") -> JsonRecords:
    sha256 = hashlib.sha256(raw).hexdigest()
    decoded = to_utf8(unpacked(raw), path, encoding)
    text = decoded.data.decode("utf-8", errors="replace")
    result = JsonRecords(path, sha256, decoded.encoding, decoded.data)
    if note := decoded.note():
        result.notes.append(note)
    counted = {"position": 0, "line": 1}

    def line_of(position: int) -> int:
        """The line `position` is on; positions only move forward, so newlines are counted once."""
        if position < counted["position"]:
            return text.count("\n", 0, position) + 1
        counted["line"] += text.count("\n", counted["position"], position)
        counted["position"] = position
        return counted["line"]

    position = _skip(text, 0)
    if text[position : position + 1] == "[":  # one array of records
        position = _skip(text, position + 1)
    while position < len(text):
        if text[position] == "]":
            position = _skip(text, position + 1)
            continue
        line = line_of(position)
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            following = text.find("\n{", position)
            end = len(text) if following < 0 else following + 1
            where = line + text.count("\n", position, exc.pos)
            result.bad.append(
                BadLine(
                    line,
                    text[position:end].strip()[:_RAW_LIMIT],
                    f"not valid JSON ({exc.msg} on line {where}) - the record is kept here; "
                    "correct it and ingest it again",
                )
            )
            position = _skip(text, end)
            continue
        if isinstance(value, dict):
            result.records.append((line, value))
            result.raw[line] = text[position:end][:_RAW_LIMIT]
        else:
            result.bad.append(BadLine(line, text[position:end][:_RAW_LIMIT], "not a JSON object (a record is {...})"))
        position = _skip(text, end)
    if not result.records and not result.bad:
        raise InputFileError(f"{path} holds no JSON records - is it empty?", SourceLocation(path))
    return result


def _skip(text: str, position: int) -> int:
    """Past whitespace and the commas between array elements."""
    while position < len(text) and (text[position].isspace() or text[position] == ","):
        position += 1
    return position


def pick(record: dict[str, Any], dotted: str) -> Any:
    """record["a"]["b"] for "a.b", None where any part is missing or null."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def text_of(value: Any) -> str | None:
    """A JSON value as export text: strings as they are, numbers as written, nothing as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
