"""The nightly run: take the new export files in an inbox, ingest them, judge, and record the run.

The whole run is one transaction: a run killed at any point leaves the database as it was before
it, and the next run does the work. A file that an earlier run took, at the same path with the same
size and modification time, is not read again (rsync's quick check: a year's inbox costs a stat()
per file); `recheck` reads every file. Any other file is known by its content (sha256), so the same
inbox twice, or a file renamed, adds nothing. A file still being written (changed within
`settle_seconds`) waits for the next run. The inbox is only read, never changed.

Inbox layout: files in `calls/` are phone-system exports (Asterisk, any layout; a folder holding a
`mapping.toml` is read through that mapping), `visits/` reception logs, `departments/` number
mappings. Files elsewhere are told apart by their content.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from . import contacts
from .common import arrays
from .common.db import Database
from .common.duckutil import ArrowScope
from .common.errors import InputFileError, KasuharaError, SourceLocation
from .common.outcomes import EXIT_CODES, Outcome
from .common.progress import Step, silent
from .common.sqltext import insert_values_sql
from .desk.analytics import unusable_callers
from .ingest import IngestOptions, ingest_files
from .ingest.csvread import file_bytes
from .ingest.filelog import FileResult
from .ingest.sources import recognise, sample_of
from .ingest.sources.mapped import Mapping, load_mapping
from .judge import JudgeReport, judge, last_profile_hash
from .rules import Profile

KIND_ORDER = ("departments", "calls", "visits")  # departments first: calls find their department


@dataclass
class InboxFile:
    path: Path
    kind: str | None = None
    mapping: Mapping | None = None
    problem: str | None = None  # why its kind cannot be told


@dataclass
class NightlyReport:
    nightly_id: int | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    ingested: list[FileResult] = field(default_factory=list)
    skipped: list[FileResult] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)
    failures: list[KasuharaError] = field(default_factory=list)
    # Files that failed in an earlier run and are unchanged since: skipped, with why (path, reason).
    failed_before: list[tuple[str, str]] = field(default_factory=list)
    judged: JudgeReport | None = None
    message: str | None = None
    # Per file ingested: calls whose caller is not a valid number, never judged (path, format, calls, unusable).
    unusable: list[dict] = field(default_factory=list)
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns) when discovered

    def rows(self, attribute: str) -> int:
        return sum(getattr(result, attribute) for result in self.ingested)

    @property
    def status(self) -> Outcome:
        if self.failures or self.message:
            return Outcome.FAILED
        return Outcome.REJECTED_ROWS if self.rows("rejected") else Outcome.OK


def discover(inbox: Path, settle_seconds: float = 60, now: float | None = None) -> tuple[list[InboxFile], list[Path]]:
    """The inbox's files with their kinds, and those still being written."""
    if not inbox.is_dir():
        raise InputFileError(f"the inbox {inbox} is not a folder - pass --inbox DIR")
    now = time.time() if now is None else now
    found, waiting = [], []
    mappings: dict[Path, Mapping] = {}
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        relative = path.relative_to(inbox)
        if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() == ".toml":
            continue
        if now - path.stat().st_mtime < settle_seconds:
            waiting.append(path)
            continue
        top = relative.parts[0] if len(relative.parts) > 1 else None
        if top in KIND_ORDER:
            item = InboxFile(path, top)
            if top == "calls":
                item.mapping = _mapping_for(path, inbox / "calls", mappings)
        else:
            item = InboxFile(path, *_kind_by_content(path))
        found.append(item)
    return found, waiting


def _mapping_for(path: Path, calls_root: Path, cache: dict[Path, Mapping]) -> Mapping | None:
    """The nearest mapping.toml from the file's folder up to calls/."""
    folder = path.parent
    while True:
        candidate = folder / "mapping.toml"
        if candidate.exists():
            if candidate not in cache:
                cache[candidate] = load_mapping(candidate)
            return cache[candidate]
        if folder == calls_root or calls_root not in folder.parents:
            return None
        folder = folder.parent


def _kind_by_content(path: Path) -> tuple[str | None, None, str | None]:
    try:
        source = recognise(sample_of(str(path), file_bytes(path)))
    except KasuharaError as exc:
        return None, None, exc.message
    if source is not None:
        return source.record_kind, None, None
    return (
        None,
        None,
        (
            f"cannot tell what {path.name} is - put phone exports in calls/ (with a mapping.toml beside "
            "exports of systems without a built-in reader), reception logs in visits/, number lists in departments/"
        ),
    )


def run_nightly(
    db: Database,
    inbox: Path,
    profile: Profile,
    *,
    settle_seconds: float = 60,
    progress: Step = silent,
    recheck: bool = False,
) -> NightlyReport:
    """Ingest the inbox's new files and judge, as one transaction; record the run either way.

    `recheck` reads files again even where path, size and modification time are those of a file an
    earlier run took (content changed in place with its time kept, e.g. restored from a backup).
    `progress` hears of each file, the contacts and each rule.
    """
    report = NightlyReport()
    inbox = inbox.absolute()  # paths are remembered: the same inbox from another working folder is the same
    try:
        files, report.waiting = discover(inbox, settle_seconds)
        files = _unchanged_files_skipped(db, files, report, trust_unchanged=not recheck)
        # The vault is written before the records; what a run that rolled back left there goes now.
        # (an Arrow table from DuckDB: no Python value to convert)
        db.vault().prune(db.con.sql("SELECT DISTINCT sha256 FROM ingest_log").to_arrow_table())
        with db.transaction():
            _ingest(db, files, profile, report, progress)
            ingested = [r.file_id for r in report.ingested if r.file_id is not None]
            report.unusable = unusable_callers(db, file_ids=ingested) if ingested else []
            # this run's changes, and those of `ingest` commands since the last judge run
            changed_from = contacts.unjudged(db)
            if last_profile_hash(db) != profile.content_hash or changed_from is None:
                report.judged = judge(db, profile, progress=progress)
            elif changed_from:
                # Only the requesters whose contacts changed can have other flags than last night,
                # and only from what the change can reach back to.
                report.judged = judge(db, profile, changed_from=changed_from, progress=progress)
            report.finished_at = datetime.now(UTC)
            _record(db, inbox, profile, report)
    except KasuharaError as exc:
        report.message = str(exc)
    except Exception as exc:  # the run rolled back; say what happened, in the record and the exit code
        report.message = f"{type(exc).__name__}: {exc}"
    if report.message:
        # Nothing of the run was kept; its record says so, for whoever reads the runs tomorrow.
        report.finished_at = datetime.now(UTC)
        failed = replace(report, ingested=[], skipped=[], judged=None, unusable=[])
        try:
            with db.transaction():
                _record(db, inbox, profile, failed)
            report.nightly_id = failed.nightly_id
        except Exception:  # the database itself is the problem: the message and exit code still tell
            pass
    return report


def _ingest(db: Database, files: list[InboxFile], profile: Profile, report: NightlyReport, progress: Step) -> None:
    """Ingest the files and bring the contacts up to them (which lists what changed: `contacts.unjudged`)."""
    total, done = len(files), 0

    def each_file(path: str, stage: str, _fraction: float) -> None:
        nonlocal done
        done += stage == "done"
        progress(f"{stage} {Path(path).name}", done, total)

    for item in files:
        if item.problem:
            report.failures.append(InputFileError(item.problem, SourceLocation(str(item.path))))
    for kind in KIND_ORDER:
        group = [item for item in files if item.kind == kind]
        for mapping in {id(item.mapping): item.mapping for item in group}.values():
            paths = [str(item.path) for item in group if item.mapping is mapping]
            options = IngestOptions(site=profile.site, mapping=mapping)
            result = ingest_files(db, kind, paths, options, each_file, rebuild_contacts=False)
            report.failures.extend(result.failures)
            for file in result.files:
                (report.skipped if file.skipped_as else report.ingested).append(file)
    if contacts.are_stale(db):
        progress("building contacts", done, total)
        contacts.refresh(db)


def _unchanged_files_skipped(
    db: Database, files: list[InboxFile], report: NightlyReport, trust_unchanged: bool = True
) -> list[InboxFile]:
    """Leave out the files seen by an earlier run and unchanged since: a year's inbox is not re-read."""
    seen = {
        path: (size, mtime, run, failed)
        for path, size, mtime, run, failed in db.con.execute(
            "SELECT path, size, mtime_ns, nightly_id, failed FROM inbox_files"
        ).fetchall()
    }
    left = []
    for item in files:
        try:
            stat = item.path.stat()
        except OSError:  # gone since discovery: reading it names the file and the problem
            left.append(item)
            continue
        report.seen[str(item.path)] = (stat.st_size, stat.st_mtime_ns)
        known = seen.get(str(item.path))
        if trust_unchanged and known and known[:2] == (stat.st_size, stat.st_mtime_ns):
            if known[3] is not None:  # it failed then, and nothing changed since: it would fail again
                report.failed_before.append((str(item.path), f"failed in nightly run {known[2]}: {known[3]}"))
            else:
                report.skipped.append(
                    FileResult(
                        str(item.path), item.kind or "", "-", "-", skipped_as=f"unchanged since nightly run {known[2]}"
                    )
                )
        else:
            left.append(item)
    return left


def _record(db: Database, inbox: Path, profile: Profile, report: NightlyReport) -> None:
    report.nightly_id = db.con.execute("SELECT nextval('nightly_id_seq')").fetchall()[0][0]
    judged = report.judged
    run = {
        "nightly_id": report.nightly_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "inbox": str(inbox),
        "status": report.status.value,
        "exit_code": EXIT_CODES[report.status],
        "profile_version": profile.version,
        "profile_hash": profile.content_hash,
        "judge_run_id": judged.run_id if judged else None,
        "files_new": len(report.ingested),
        "files_skipped": len(report.skipped),
        "files_waiting": len(report.waiting),
        "files_failed": len(report.failures),
        "rows_read": report.rows("rows_read"),
        "rows_kept": report.rows("kept"),
        "rows_rejected": report.rows("rejected"),
        "rows_duplicate": report.rows("duplicates"),
        "flags": judged.total_flags if judged else None,
        "flags_new": judged.new if judged else None,
        "flags_updated": judged.updated if judged else None,
        "flags_gone": judged.gone if judged else None,
        "message": report.message,
    }
    db.con.execute(insert_values_sql("nightly_runs", run), run)
    # Remember the files taken (ingested, or known by content) with their size and time when discovered,
    # and the files that failed, with why: an unchanged one is not read again (it would fail again).
    taken: dict[str, str | None] = {r.path: None for r in report.ingested + report.skipped if r.path in report.seen}
    taken |= {str(f.source.path): f.message for f in report.failures if f.source and str(f.source.path) in report.seen}
    if taken:
        sizes = pa.table(
            {
                "path": arrays.strings(taken),
                "size": arrays.numbers([report.seen[p][0] for p in taken]),
                "mtime_ns": arrays.numbers([report.seen[p][1] for p in taken]),
                "failed": arrays.strings(taken.values()),
            }
        )
        ArrowScope(db.con, {"_taken": sizes}).execute(
            """
            INSERT INTO inbox_files BY NAME SELECT path, size, mtime_ns, $run AS nightly_id, failed FROM _taken
            ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                failed = excluded.failed,
                nightly_id = CASE WHEN inbox_files.size = excluded.size AND inbox_files.mtime_ns = excluded.mtime_ns
                                       AND inbox_files.failed IS NOT DISTINCT FROM excluded.failed
                                  THEN inbox_files.nightly_id ELSE excluded.nightly_id END
            """,
            {"run": report.nightly_id},
        )
    # (path, kind, outcome, file_id, message) per file the run saw
    rows: list[tuple[str, str | None, str, int | None, str | None]]
    rows = [(r.path, r.kind, "ingested", r.file_id, None) for r in report.ingested]
    rows += [(r.path, r.kind, "already ingested", None, r.skipped_as) for r in report.skipped]
    rows += [(str(p), None, "waiting", None, "still being written") for p in report.waiting]
    rows += [(str(f.source.path) if f.source else "", None, "failed", None, str(f)) for f in report.failures]
    rows += [(path, None, "failed before", None, why) for path, why in report.failed_before]
    if rows:
        columns = list(zip(*rows, strict=True))
        files = pa.table(
            {
                "path": arrays.strings(columns[0]),
                "kind": arrays.strings(columns[1]),
                "outcome": arrays.strings(columns[2]),
                "file_id": arrays.numbers(columns[3]),
                "message": arrays.strings(columns[4]),
            }
        )
        ArrowScope(db.con, {"_files": files}).execute(
            "INSERT INTO nightly_files BY NAME "
            "SELECT $run AS nightly_id, path, kind, outcome, file_id, message FROM _files",
            {"run": report.nightly_id},
        )
