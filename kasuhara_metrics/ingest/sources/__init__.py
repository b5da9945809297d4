"""The registry of source kinds: the only way an export file becomes rows.

Each source declares its record kind (calls, visits, departments), how its files are recognised
from their content (never their name), and how they are read. Files of phone systems without a
built-in source come in through a mapping (`mapped`), which is never guessed.
"""

from __future__ import annotations

from ...common.errors import InputFileError, SourceLocation
from ..csvread import sample_rows
from ..encoding import to_utf8
from .amazon_connect import AmazonConnect
from .asterisk import Asterisk
from .base import IngestOptions, Sample, Source, Staged
from .cucm import Cucm
from .departments import Departments
from .freeswitch import FreeSwitch
from .mapped import Mapped
from .threecx import ThreeCx
from .twilio import Twilio
from .visits import Visits

# Recognition tries them in this order: the most particular shapes first.
SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        AmazonConnect(),
        Twilio(),
        Cucm(),
        ThreeCx(),
        FreeSwitch(),
        Asterisk(),
        Mapped(),
        Visits(),
        Departments(),
    )
}

SAMPLE_BYTES = 65536


def sample_of(path: str, raw: bytes, encoding: str = "auto") -> Sample:
    """The start of a file as recognition sees it."""
    text = to_utf8(raw[:SAMPLE_BYTES], path, encoding).data
    return Sample(path, text, sample_rows(text, limit=50))


def recognise(sample: Sample, record_kind: str | None = None) -> Source | None:
    """The first source (of `record_kind`, or any) that recognises the sample."""
    for source in SOURCES.values():
        if (record_kind is None or source.record_kind == record_kind) and source.recognise(sample):
            return source
    return None


def source_for(path: str, raw: bytes, record_kind: str, options: IngestOptions) -> Source:
    """The source that reads this file: the mapping's when one is given, else the one that recognises it."""
    if record_kind == "calls" and options.mapping is not None:
        return SOURCES["mapped"]
    if record_kind != "calls":  # one source per kind: its reader names what is wrong with the file
        return next(s for s in SOURCES.values() if s.record_kind == record_kind)
    sample = sample_of(path, raw, options.encoding)
    source = recognise(sample, record_kind)
    if source is None:
        known = "; ".join(s.description for s in SOURCES.values() if s.record_kind == "calls" and s.name != "mapped")
        line, fields = sample.rows[0] if sample.rows else (1, [])
        raise InputFileError(
            f"{path} does not look like an export of a phone system this version knows: line {line} has "
            f"{len(fields)} columns, which fits none of: {known} - if it comes from another phone system, describe "
            "its columns in a mapping file and pass --mapping FILE (see data/samples/mapping-example.toml)",
            SourceLocation(path, line),
        )
    return source


__all__ = ["SOURCES", "IngestOptions", "Sample", "Source", "Staged", "recognise", "sample_of", "source_for"]
