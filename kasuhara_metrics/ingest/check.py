"""How files would be read, without writing anything: `kasuhara ingest calls --check FILE`.

Each file is ingested into a scratch in-memory database, through the very code a real ingest
runs, so what it shows is what would be stored: the format recognised, the clock, the first rows
as stored (pseudonyms, classes, times in the site zone, outcomes), and the rejected lines with
their reasons. The database and the pseudonym secret are only read, never created or changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from ..common.db import connect
from ..common.errors import KasuharaError, SecretError
from ..common.identity import Pseudonymizer, load_secret
from .driver import ingest_files
from .filelog import FileResult
from .sources import IngestOptions

# What each record kind shows of its stored rows: never raw numbers or free text.
_STORED_ROWS = {
    "calls": """SELECT line, requester_key AS requester,
                       caller_class || coalesce(' (' || caller_note || ')', '') AS caller,
                       dialled_class AS dialled, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
                       strftime(answered_at, '%H:%M:%S') AS answered, strftime(ended_at, '%H:%M:%S') AS ended,
                       billsec_s AS talk_s, outcome
                FROM calls WHERE file_id = ? ORDER BY line LIMIT ?""",
    "visits": """SELECT line, visit_id, strftime(arrived_at, '%Y-%m-%d %H:%M:%S') AS arrived,
                        strftime(ended_at, '%H:%M:%S') AS ended, kind, requester_key AS requester, requester_source
                 FROM visits WHERE file_id = ? ORDER BY line LIMIT ?""",
    "departments": "SELECT number, department FROM departments WHERE file_id = ? ORDER BY number LIMIT ?",
}


@dataclass
class FileCheck:
    path: str
    result: FileResult | None = None
    failure: KasuharaError | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class CheckReport:
    files: list[FileCheck]
    secret_note: str | None  # set when pseudonyms are not the site's


def check_files(kind: str, paths: list[str], options: IngestOptions, db_path: str, limit: int = 10) -> CheckReport:
    pseudo, note = _pseudonymizer(db_path)
    checks = []
    for path in paths:
        check = FileCheck(path)
        with connect(":memory:", timezone=options.site.timezone) as scratch:
            report = ingest_files(scratch, kind, [path], replace(options, force=True), pseudo=pseudo)
            if report.failures:
                check.failure = report.failures[0]
            else:
                check.result = report.files[0]
                cursor = scratch.con.execute(_STORED_ROWS[kind], [check.result.file_id, limit])
                check.columns = [d[0] for d in cursor.description]
                check.rows = cursor.fetchall()
                check.rejects = scratch.con.execute(
                    "SELECT line, reason FROM rejects ORDER BY line LIMIT ?", [limit]
                ).fetchall()
        checks.append(check)
    return CheckReport(checks, note)


def _pseudonymizer(db_path: str) -> tuple[Pseudonymizer, str | None]:
    """The site's pseudonyms when its secret can be read; else throwaway ones, and a note saying so."""
    try:
        return Pseudonymizer(load_secret(db_path, create=False)), None
    except SecretError:
        return Pseudonymizer(secrets.token_hex(32).encode()), (
            "no pseudonym secret could be read: the requester keys shown are a throwaway secret's, not this site's"
        )
