"""Ingest: export files -> stored legs, visits and departments, then contacts.

`ingest_files` is the library call behind `kasuhara ingest calls|visits|departments`. Files are
read and checked one by one and stored in batches, each batch in one transaction, so a failure (or
a kill) leaves earlier batches stored and nothing of the failing one. A file whose content was
ingested before is skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from .. import contacts
from ..db import Database
from ..errors import InputFileError, KasuharaError, SourceLocation
from ..identity import pseudonymizer_for
from ..site import SiteSettings
from .asterisk import read_asterisk
from .calls import batch_key, store_calls
from .csvread import file_bytes
from .departments import read_departments, store_departments
from .filelog import FileResult, earlier_ingests, new_file_ids, write_logs
from .mapped_csv import Mapping, read_mapped
from .visits import read_visits, store_visits

KINDS = ("calls", "visits", "departments")


@dataclass(frozen=True)
class IngestOptions:
    site: SiteSettings = field(default_factory=SiteSettings)
    encoding: str = "auto"
    mapping: Mapping | None = None
    # Read a file again even if identical content was ingested before (its rows then count as duplicates).
    force: bool = False


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    failures: list[KasuharaError] = field(default_factory=list)
    contacts: int | None = None

    @property
    def rows_rejected(self) -> int:
        return sum(f.rejected for f in self.files)


# progress(path, stage, fraction of that file done): "reading" 0.0, "storing" 0.4, "done" 1.0;
# path "" for the work after the last file ("building contacts").
Progress = Callable[[str, str, float], None]


# Files are stored in batches: one pass of SQL costs about the same for one small file as for many.
BATCH_ROWS = 250_000
BATCH_FILES = 100


@dataclass
class _Pending:
    """A file read and checked, waiting to be stored with its batch."""

    path: str
    parsed: object
    rows: object  # CallRows for calls, else None
    result: FileResult
    started: datetime


def ingest_files(
    db: Database, kind: str, paths: list[str], options: IngestOptions, progress: Progress | None = None,
    *, rebuild_contacts: bool = True,
) -> IngestReport:
    """Ingest each file of `kind`; a file that cannot be read is reported and the others go on.

    Files are stored in batches, each batch in one transaction; if storing a batch fails, its
    files are stored one by one, so that one bad file is named and the others still go in.
    Inside a larger transaction (the nightly run) a failure while storing cannot be undone for
    part of it: it is raised, and the whole transaction rolls back.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind}")
    pseudo = pseudonymizer_for(db, create=True)
    report = IngestReport()
    step = progress or (lambda _path, _stage, _fraction: None)
    pending: list[_Pending] = []
    earlier = earlier_ingests(db, kind)  # a file is known by its content, under any name
    first_path_of: dict[str, str] = {}  # sha256 -> path, for the same content twice in one call

    def flush() -> None:
        if pending:
            _store_batch(db, kind, list(pending), options, pseudo, report, step)
            pending.clear()

    for path in map(str, paths):
        try:
            step(path, "reading", 0.0)
            raw = file_bytes(path)
            sha = hashlib.sha256(raw).hexdigest()
            # Content seen before (under any name) is not even parsed: a nightly inbox holds a year.
            skipped = (earlier.get(sha) if not options.force else None) or (
                f"same content as {first_path_of[sha]}, earlier in this run" if sha in first_path_of else None)
            if skipped:
                report.files.append(FileResult(path, kind, "-", "-", skipped_as=skipped))
                step(path, "done", 1.0)
                continue
            item = _read_one(kind, path, raw, options)
        except Exception as exc:  # an unreadable file, or a bug: the other files go on; this one is named
            report.failures.append(_as_failure(exc, path))
            step(path, "done", 1.0)
            continue
        first_path_of[sha] = path
        if kind == "calls" and pending and batch_key(pending[0].rows) != batch_key(item.rows):
            flush()
        pending.append(item)
        if sum(p.parsed.rows_read for p in pending) >= BATCH_ROWS or len(pending) >= BATCH_FILES:
            flush()
    flush()
    # Brought up to date whenever any file was stored since the last build, even by a run that
    # failed half-way: only the new files' requesters are rebuilt, unless more changed.
    if rebuild_contacts and (options.force or contacts_are_stale(db)):
        step("", "building contacts", 0.0)
        with db.transaction():
            report.contacts = contacts.refresh(db, options.site, full=options.force).contacts
    return report


def contacts_are_stale(db: Database) -> bool:
    """Has a file been stored after the contacts were last built?"""
    latest = db.con.execute("SELECT max(file_id) FROM ingest_log").fetchall()[0][0]
    built = db.meta("contacts_built_through_file")
    return latest is not None and (built is None or int(built) < latest)


def _read_one(kind: str, path: str, raw: bytes, options: IngestOptions) -> _Pending:
    if not raw or raw.isspace():
        raise InputFileError(f"{path} is empty - check that the export finished writing", SourceLocation(path))
    started = datetime.now(timezone.utc)
    rows = None
    if kind == "calls":
        if options.mapping:
            parsed, rows = read_mapped(path, raw, options.mapping)
        else:
            parsed, rows = read_asterisk(path, raw, options.encoding)
        result = FileResult(path, kind, rows.format, parsed.encoding)
    elif kind == "visits":
        parsed = read_visits(path, raw, options.encoding)
        result = FileResult(path, kind, "visits-csv", parsed.encoding)
    else:
        parsed = read_departments(path, raw, options.encoding)
        result = FileResult(path, kind, "departments-csv", parsed.encoding)
    result.notes.extend(parsed.notes)
    return _Pending(path, parsed, rows, result, started)


def _store_batch(db: Database, kind: str, batch: list[_Pending], options: IngestOptions, pseudo,
                 report: IngestReport, step: Progress) -> None:
    for item in batch:
        step(item.path, "storing", 0.4)
    try:
        with db.transaction():
            for item, file_id in zip(batch, new_file_ids(db, len(batch))):
                item.result.file_id = file_id
            if kind == "calls":
                store_calls(db, [(i.parsed, i.rows, i.result) for i in batch], options.site, pseudo)
            elif kind == "visits":
                store_visits(db, [(i.parsed, i.result) for i in batch], options.site, pseudo)
            for item in batch:
                if kind == "departments":
                    store_departments(db, item.parsed, item.result, options.site, pseudo)
                _check_accounting(item.result)
            write_logs(db, [(i.result, i.parsed.sha256, i.started) for i in batch], options.site.timezone)
    except Exception as exc:
        if db.in_transaction:
            raise
        if len(batch) > 1:  # find the file at fault: the others are stored on their own
            for item in batch:
                _store_batch(db, kind, [item], options, pseudo, report, step)
        else:
            report.failures.append(_as_failure(exc, batch[0].path))
            step(batch[0].path, "done", 1.0)
        return
    report.files.extend(item.result for item in batch)
    for item in batch:
        step(item.path, "done", 1.0)


def _as_failure(exc: BaseException, path: str) -> KasuharaError:
    if isinstance(exc, KasuharaError):
        if exc.source is None:
            exc.source = SourceLocation(path)
        return exc
    return KasuharaError(
        f"cannot ingest {path}: {type(exc).__name__}: {exc} - nothing of it was stored; please report this file",
        SourceLocation(path),
    )


def _check_accounting(result: FileResult) -> None:
    """Every row read is kept, rejected or a duplicate; otherwise store nothing of the file."""
    accounted = result.kept + result.rejected + result.duplicates
    if result.rows_read != accounted:
        raise KasuharaError(
            f"internal error: {result.path} read {result.rows_read} rows but accounted for {accounted} - "
            "nothing of it was stored; please report this file",
            SourceLocation(result.path),
        )
