"""Ingest: export files -> stored legs, visits and departments, then contacts.

`ingest_files` is the library call behind `kasuhara ingest calls|visits|departments`. Each file
is read, checked and stored in its own transaction, so a failure (or a kill) leaves earlier files
stored and nothing of the failing one. A file whose content was ingested before is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from .. import contacts
from ..db import Database
from ..errors import InputFileError, KasuharaError, SourceLocation
from ..identity import pseudonymizer_for
from ..site import SiteSettings
from .asterisk import read_asterisk
from .calls import store_calls
from .csvread import file_bytes
from .departments import read_departments, store_departments
from .filelog import FileResult, next_file_id, previous_ingest, write_log
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


def ingest_files(
    db: Database, kind: str, paths: list[str], options: IngestOptions, progress: Progress | None = None,
    *, rebuild_contacts: bool = True,
) -> IngestReport:
    """Ingest each file of `kind`; a file that cannot be read is reported and the others go on.

    Inside a larger transaction (the nightly run) a failure while storing cannot be undone for one
    file alone: it is raised, and the whole transaction rolls back.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind}")
    pseudo = pseudonymizer_for(db, create=True)
    report = IngestReport()
    step = progress or (lambda _path, _stage, _fraction: None)
    for path in paths:
        try:
            report.files.append(_ingest_one(db, kind, str(path), options, pseudo, step))
        except _StoreFailed as failed:
            if db.in_transaction:
                raise failed.__cause__ from None
            report.failures.append(_as_failure(failed.__cause__, str(path)))
        except Exception as exc:  # an unreadable file, or a bug: the other files go on; this one is named
            report.failures.append(_as_failure(exc, str(path)))
        finally:
            step(str(path), "done", 1.0)
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


def _ingest_one(db: Database, kind: str, path: str, options: IngestOptions, pseudo, step: Progress) -> FileResult:
    step(path, "reading", 0.0)
    raw = file_bytes(path)
    if not raw or raw.isspace():
        raise InputFileError(f"{path} is empty - check that the export finished writing", SourceLocation(path))
    started = datetime.now(timezone.utc)
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
    earlier = previous_ingest(db, parsed.sha256, kind)
    if earlier and not options.force:
        result.skipped_as = earlier
        return result
    step(path, "storing", 0.4)
    try:
        _store(db, kind, parsed, rows if kind == "calls" else None, result, options, pseudo, started)
    except Exception as exc:
        raise _StoreFailed() from exc
    return result


class _StoreFailed(Exception):
    """Storing a file failed (its cause is the error): its transaction is spoiled."""


def _as_failure(exc: BaseException, path: str) -> KasuharaError:
    if isinstance(exc, KasuharaError):
        if exc.source is None:
            exc.source = SourceLocation(path)
        return exc
    return KasuharaError(
        f"cannot ingest {path}: {type(exc).__name__}: {exc} - nothing of it was stored; please report this file",
        SourceLocation(path),
    )


def _store(db: Database, kind: str, parsed, rows, result: FileResult, options: IngestOptions, pseudo,
           started: datetime) -> None:
    with db.transaction():
        result.file_id = next_file_id(db)
        if kind == "calls":
            store_calls(db, parsed, rows, result, options.site, pseudo)
        elif kind == "visits":
            store_visits(db, parsed, result, options.site, pseudo)
        else:
            store_departments(db, parsed, result, options.site, pseudo)
        _check_accounting(result)
        write_log(db, result, parsed.sha256, options.site.timezone, started)


def _check_accounting(result: FileResult) -> None:
    """Every row read is kept, rejected or a duplicate; otherwise store nothing of the file."""
    accounted = result.kept + result.rejected + result.duplicates
    if result.rows_read != accounted:
        raise KasuharaError(
            f"internal error: {result.path} read {result.rows_read} rows but accounted for {accounted} - "
            "nothing of it was stored; please report this file",
            SourceLocation(result.path),
        )
