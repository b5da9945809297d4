"""What every source kind declares: how its files are recognised and read into canonical rows.

A source reads one file into a `Staged` table of its record kind's canonical string columns
(calls, visits or departments), with the rows it could not read as rejects and the file's clock.
Typing, identities, duplicates and storing are the record kind's (ingest/stores/), the same for
every source of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from ...common.site import SiteSettings
from ..clock import Clock, clock_from_setting, site_clock
from ..csvread import BadLine, ParsedFile, lines_of, sample_rows
from ..jsonread import JsonRecords

if TYPE_CHECKING:  # mapped.py builds on this module
    from .mapped import Mapping


@dataclass(frozen=True)
class IngestOptions:
    site: SiteSettings = field(default_factory=SiteSettings)
    encoding: str = "auto"
    mapping: Mapping | None = None  # read the files through it instead of recognising them
    # Read a file again even if identical content was ingested before (its rows then count as duplicates).
    force: bool = False


@dataclass
class Sample:
    """The start of a file, decoded to UTF-8: what recognition looks at."""

    path: str
    text: bytes
    rows: list[tuple[int, list[str]]]  # the first non-blank lines as CSV fields, with their line numbers


@dataclass
class Staged:
    """One file read by its source, waiting to be typed and stored with its batch."""

    path: str
    sha256: str
    source: str  # the registry name of the source kind
    format: str  # as recorded in ingest_log.format, e.g. asterisk-cdr_csv-18
    encoding: str
    table: pa.Table  # the record kind's canonical string columns + _line
    rows_read: int
    clock: Clock
    rejects: list[BadLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    typing: Any = None  # how the record kind types these columns; files typed alike share one pass
    text: bytes = b""  # the decoded file, for the raw text of rejected lines
    raw_text: dict[int, str] | None = None  # or the text of each record, where records are not lines (JSON)

    def raw_lines(self, numbers: set[int]) -> dict[int, str]:
        if self.raw_text is not None:
            return {n: self.raw_text.get(n, "") for n in numbers}
        return lines_of(self.text, numbers)


def staged_from_csv(
    parsed: ParsedFile,
    source: str,
    format_name: str,
    table: pa.Table,
    clock: Clock,
    rejects: list[BadLine] | None = None,
    typing: Any = None,
) -> Staged:
    """A Staged file from a CSV read: its counts, notes and text come with it."""
    return Staged(
        path=parsed.path,
        sha256=parsed.sha256,
        source=source,
        format=format_name,
        encoding=parsed.encoding,
        table=table,
        rows_read=parsed.rows_read,
        clock=clock,
        rejects=list(rejects or []),
        notes=list(parsed.notes),
        typing=typing,
        text=parsed.text,
    )


def staged_from_json(
    read: JsonRecords,
    source: str,
    format_name: str,
    table: pa.Table,
    clock: Clock,
    rejects: list[BadLine],
    typing: Any = None,
) -> Staged:
    """A Staged file from a JSON read: its unreadable records are rejects, each record's text its raw line."""
    return Staged(
        path=read.path,
        sha256=read.sha256,
        source=source,
        format=format_name,
        encoding=read.encoding,
        table=table,
        rows_read=read.rows_read,
        clock=clock,
        rejects=list(read.bad) + rejects,
        notes=list(read.notes),
        typing=typing,
        text=read.text,
        raw_text=read.raw,
    )


class Source:
    """One kind of export file. Subclasses set the class attributes and implement `read`."""

    name: ClassVar[str]  # registry key, and the key of its clock in [site.clock]
    record_kind: ClassVar[str]  # calls | visits | departments
    description: ClassVar[str]  # what it is, for messages and docs
    # The clock its naive times are in when nothing says otherwise: None for the site's, or a reason they are UTC.
    utc_by_format: ClassVar[str | None] = None

    def recognise(self, sample: Sample) -> bool:
        """Whether a file starting like `sample` is one of this source's. Sources read only when named say no."""
        return False

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        raise NotImplementedError

    def clock(self, site: SiteSettings, override: str | None = None, where: str = "") -> Clock:
        """The clock a setting fixes (a mapping's, else [site.clock]), else the format's, else the site's.

        `where` names the overriding setting in errors (the mapping file's clock).
        """
        if override not in (None, "auto"):
            fixed = clock_from_setting(override, site.timezone, where)
        else:
            fixed = clock_from_setting(site.clock_for(self.name), site.timezone, f"[site.clock] {self.name}")
        if fixed is not None:
            return fixed
        if self.utc_by_format:
            return Clock("UTC", self.utc_by_format)
        return site_clock(site.timezone)


class HeaderlessSource(Source):
    """A format without a header line, told apart by the shape of its rows (`fits`)."""

    def fits(self, fields: list[str]) -> bool:
        raise NotImplementedError

    def recognise(self, sample: Sample) -> bool:
        return any(self.fits(fields) for _, fields in sample.rows[:20])

    def width(self, decoded: bytes, default: int) -> int:
        """The field count of the file's first row of this shape."""
        return next((len(fields) for _, fields in sample_rows(decoded, limit=20) if self.fits(fields)), default)
