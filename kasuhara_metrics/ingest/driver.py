"""The batch driver: export files -> stored records, the same steps for every source and record kind.

Files are read one by one by their source (ingest/sources/) and stored in batches, each batch in
one transaction, so a failure (or a kill) leaves earlier batches stored and nothing of the failing
one. A batch runs its record kind's SQL (ingest/stores/) once for all its files (batch.py):

    stage -> type -> identify -> check -> reject -> dedupe -> vault -> insert -> account

Files are read in a thread ahead of the batch being stored (readahead.py).

A file whose content was ingested before is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .. import contacts
from ..common.db import Database
from ..common.errors import InputFileError, KasuharaError, SourceLocation
from ..common.identity import Pseudonymizer, pseudonymizer_for
from ..common.site import SiteSettings
from .batch import store_records
from .csvread import file_bytes
from .filelog import FileResult, earlier_ingests, new_file_ids, write_logs
from .readahead import read_ahead
from .sources import IngestOptions, Staged, source_for
from .stores import RECORD_KINDS, STORES, RecordStore


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
# A batch ends at whichever comes first: rows, bytes read (the batch's bytes, text and Arrow tables
# take about 8x its input at peak: ~0.5 GB of the process), or the store's number of files.
BATCH_ROWS = 250_000
BATCH_BYTES = 64 * 2**20
# The first batches of a call are smaller: an eighth of the limits, then a quarter, a half. Storing
# starts once a few files are read instead of a batch's worth (a second of waiting at the start of a
# year's calls), and a batch is stored slower than the next one is read, so the reader stays ahead.
RAMP_BATCHES = 3
# Files read ahead of the batch being stored wait in memory too: at most a batch's input (large
# daily files would otherwise queue a batch's count of them, 100 files: gigabytes of Arrow tables).
READ_AHEAD_BYTES = BATCH_BYTES


@dataclass
class _Pending:
    """A file read and checked, waiting to be stored with its batch."""

    staged: Staged
    result: FileResult
    started: datetime
    input_bytes: int = 0

    @property
    def batch_key(self) -> tuple:
        # Files typed alike, in the same clock, share one pass.
        return (self.staged.typing, self.staged.clock.zone)


def ingest_files(
    db: Database,
    kind: str,
    paths: list[str],
    options: IngestOptions,
    progress: Progress | None = None,
    *,
    rebuild_contacts: bool = True,
    pseudo: Pseudonymizer | None = None,
) -> IngestReport:
    """Ingest each file of record `kind`; a file that cannot be read is reported and the others go on.

    Files are stored in batches, each batch in one transaction; if storing a batch fails, its
    files are stored one by one, so that one bad file is named and the others still go in.
    Inside a larger transaction (the nightly run) a failure while storing cannot be undone for
    part of it: it is raised, and the whole transaction rolls back.
    """
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown kind {kind}")
    store = STORES[kind]
    pseudo = pseudo or pseudonymizer_for(db, create=True)
    report = IngestReport()
    step = progress or (lambda _path, _stage, _fraction: None)
    pending: list[_Pending] = []
    earlier = earlier_ingests(db, kind)  # a file is known by its content, under any name
    smaller = RAMP_BATCHES  # the next batch's limits are halved this many times

    def flush() -> None:
        nonlocal smaller
        if pending:
            _store_batch(db, store, list(pending), options.site, pseudo, report, step)
            pending.clear()
            smaller = max(0, smaller - 1)

    # Files are read (Python and Arrow) in a thread, up to a batch ahead, while the batch before
    # them is stored (DuckDB, which lets go of the GIL): the two overlap instead of taking turns.
    reads = read_ahead(
        _read_in_order(kind, list(map(str, paths)), options, earlier, step),
        store.files_per_batch,
        weigh=lambda read: read[1].input_bytes if isinstance(read[1], _Pending) else 0,
        budget=READ_AHEAD_BYTES,
    )
    with closing(reads):  # an error while storing stops the reader too
        for path, outcome in reads:
            if isinstance(outcome, FileResult):
                report.files.append(outcome)
                step(path, "done", 1.0)
                continue
            if isinstance(outcome, Exception):
                report.failures.append(as_failure(outcome, path))
                step(path, "done", 1.0)
                continue
            item = outcome
            if pending and pending[0].batch_key != item.batch_key:
                flush()
            pending.append(item)
            if (
                sum(p.staged.rows_read for p in pending) >= BATCH_ROWS >> smaller
                or sum(p.input_bytes for p in pending) >= BATCH_BYTES >> smaller
                or len(pending) >= store.files_per_batch
            ):
                flush()
    flush()
    # Brought up to date whenever any file was stored since the last build, even by a run that
    # failed half-way: only the new files' requesters are rebuilt, unless more changed.
    if rebuild_contacts and (options.force or contacts.are_stale(db)):
        step("", "building contacts", 0.0)
        with db.transaction():
            report.contacts = contacts.refresh(db, full=options.force).contacts
    return report


def _read_in_order(
    kind: str, paths: list[str], options: IngestOptions, earlier: dict[str, str], step: Progress
) -> Iterator[tuple[str, _Pending | FileResult | Exception]]:
    """Each file read and checked, or skipped as known content, or the error that stopped it."""
    first_path_of: dict[str, str] = {}  # sha256 -> path, for the same content twice in one call
    for path in paths:
        try:
            step(path, "reading", 0.0)
            raw = file_bytes(path)
            sha = hashlib.sha256(raw).hexdigest()
            # Content seen before (under any name) is not even parsed: a nightly inbox holds a year.
            skipped = (earlier.get(sha) if not options.force else None) or (
                f"same content as {first_path_of[sha]}, earlier in this run" if sha in first_path_of else None
            )
            if skipped:
                yield path, FileResult(path, kind, "-", "-", skipped_as=skipped)
                continue
            item = read_file(kind, path, raw, options)
        except Exception as exc:  # an unreadable file, or a bug: the other files go on; this one is named
            yield path, exc
            continue
        first_path_of[sha] = path
        yield path, item


def read_file(kind: str, path: str, raw: bytes, options: IngestOptions) -> _Pending:
    """Read one file with its source; nothing is stored yet."""
    if not raw or raw.isspace():
        raise InputFileError(f"{path} is empty - check that the export finished writing", SourceLocation(path))
    started = datetime.now(UTC)
    staged = source_for(path, raw, kind, options).read(path, raw, options)
    result = FileResult(path, kind, staged.format, staged.encoding, clock=staged.clock.describe())
    result.notes.extend(staged.notes)
    return _Pending(staged, result, started, len(raw))


def _store_batch(
    db: Database,
    store: RecordStore,
    batch: list[_Pending],
    site: SiteSettings,
    pseudo: Pseudonymizer,
    report: IngestReport,
    step: Progress,
) -> None:
    for item in batch:
        step(item.staged.path, "storing", 0.4)
    try:
        with db.transaction():
            for item, file_id in zip(batch, new_file_ids(db, len(batch)), strict=True):
                item.result.file_id = file_id
            store_records(db, store, [(item.staged, item.result) for item in batch], site, pseudo)
            for item in batch:
                _check_accounting(item.result)
            write_logs(db, [(i.result, i.staged.sha256, i.started) for i in batch], site.timezone)
    except Exception as exc:
        if db.in_transaction:
            raise
        if len(batch) > 1:  # find the file at fault: the others are stored on their own
            for item in batch:
                _store_batch(db, store, [item], site, pseudo, report, step)
        else:
            report.failures.append(as_failure(exc, batch[0].staged.path))
            step(batch[0].staged.path, "done", 1.0)
        return
    report.files.extend(item.result for item in batch)
    for item in batch:
        step(item.staged.path, "done", 1.0)


def as_failure(exc: BaseException, path: str) -> KasuharaError:
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
