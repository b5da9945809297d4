"""Turn an export file's bytes into UTF-8 without the user saying which encoding it is in.

Order: a BOM decides (UTF-8 or UTF-16); else strict UTF-8; else, when most lines with non-ASCII
bytes are UTF-8, UTF-8 with the stray bytes of the other lines replaced (U+FFFD); else CP932
(Windows Japanese, a superset of Shift_JIS that also reads ①, ㈱ and IBM extensions), line by
line if it must. A line with a bad byte is kept, so a stray byte never loses a call.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from ..common.errors import InputFileError, SourceLocation

ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "cp932": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "shift_jis": "cp932",  # CP932 reads every Shift_JIS file and the vendor extensions too
    "sjis": "cp932",
    "shift-jis": "cp932",
    "euc-jp": "euc_jp",
    "euc_jp": "euc_jp",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
}


@dataclass
class DecodedBytes:
    """UTF-8 bytes of a file, the encoding they came from, and lines whose bytes had to be replaced."""

    data: bytes
    encoding: str
    replaced_lines: list[int] = field(default_factory=list)

    def note(self) -> str | None:
        if not self.replaced_lines:
            return None
        shown = ", ".join(map(str, self.replaced_lines[:10]))
        more = f" and {len(self.replaced_lines) - 10} more" if len(self.replaced_lines) > 10 else ""
        word = "line" if len(self.replaced_lines) == 1 else "lines"
        return f"undecodable bytes replaced with U+FFFD on {word} {shown}{more}"


def normalise_encoding_name(name: str, path: str) -> str:
    key = name.strip().lower()
    if key == "auto":
        return "auto"
    if key in ENCODING_ALIASES:
        return ENCODING_ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise InputFileError(
            f"unknown encoding '{name}' - use auto, utf-8, cp932 (Shift_JIS) or another Python codec name",
            SourceLocation(path),
        ) from None


def to_utf8(raw: bytes, path: str, encoding: str = "auto") -> DecodedBytes:
    """Decode `raw` (whole file) as `encoding`, or detect it; return UTF-8 bytes without a BOM."""
    decoded = _to_utf8(raw, path, encoding)
    decoded.data = _unix_lines(decoded.data)
    return decoded


def _to_utf8(raw: bytes, path: str, encoding: str) -> DecodedBytes:
    encoding = normalise_encoding_name(encoding, path)
    if raw.startswith(codecs.BOM_UTF8):
        return _decoded(raw[len(codecs.BOM_UTF8) :], "utf-8-sig", path)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="replace")
        replaced = [n for n, line in enumerate(text.split("\n"), start=1) if "\ufffd" in line]
        return DecodedBytes(_unix_lines(text.encode("utf-8")), "utf-16", replaced)
    if encoding != "auto":
        return _decoded(raw, encoding, path)
    if raw.isascii():
        return DecodedBytes(raw, "utf-8")  # most CDR files: checked without copying them
    try:
        raw.decode("utf-8")
        return DecodedBytes(raw, "utf-8")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    # UTF-8 Japanese can happen to decode as CP932 too: if most lines with non-ASCII bytes are
    # valid UTF-8, the file is UTF-8 with a few stray bytes, not CP932.
    non_ascii = [line for line in lines if not line.isascii()]
    utf8_lines = sum(1 for line in non_ascii if _decodes(line, "utf-8"))
    if utf8_lines * 2 > len(non_ascii):
        return _decode_lines(lines, "utf-8")
    try:
        return DecodedBytes(raw.decode("cp932").encode("utf-8"), "cp932")
    except UnicodeDecodeError:
        return _decode_lines(lines, "cp932")


def _unix_lines(data: bytes) -> bytes:
    """Old Mac files end lines with CR alone: make them LF, or the whole file would be one line."""
    if b"\n" not in data and b"\r" in data:
        return data.replace(b"\r", b"\n")
    return data


def _decoded(raw: bytes, encoding: str, path: str) -> DecodedBytes:
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            raw.decode("utf-8")
            return DecodedBytes(raw, encoding)
        except UnicodeDecodeError:
            return _decode_lines(raw.split(b"\n"), "utf-8")
    try:
        return DecodedBytes(raw.decode(encoding).encode("utf-8"), encoding)
    except UnicodeDecodeError:
        return _decode_lines(raw.split(b"\n"), encoding)


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _decode_lines(lines: list[bytes], encoding: str) -> DecodedBytes:
    replaced: list[int] = []
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(line.decode(encoding))
        except UnicodeDecodeError:
            out.append(line.decode(encoding, errors="replace"))
            replaced.append(number)
    return DecodedBytes("\n".join(out).encode("utf-8"), f"{encoding} (with replaced bytes)", replaced)
