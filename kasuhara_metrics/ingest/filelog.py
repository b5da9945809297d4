"""ingest_log and rejects: the record of every file read and every row that could not be used.

A rejected line as written may hold a number or a name: it goes to the vault (common/vault.py), keyed by
the file's content and the line; the database keeps where it was and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.duckutil import ArrowScope
from .csvread import BadLine

# A value quoted in a reason shows its form only: digits as 9, letters as x. The reasons sit in the
# analysts' database, and a shifted column can put a phone number where a time should be; the line
# itself is in the vault (`kasuhara rejects --reveal`).
_SHAPE_DIGITS = "[0-9０-９]"
_SHAPE_OTHER = "[^9 /:.,+\\-TZ年月日時分秒]"


def shape_sql(column: str) -> str:
    """SQL: the form of a value for a reject reason (2026-09-31 25:00 -> 9999-99-99 99:99)."""
    return (
        f"regexp_replace(regexp_replace(left(coalesce({column}, ''), 40), '{_SHAPE_DIGITS}', '9', 'g'), "
        f"'{_SHAPE_OTHER}', 'x', 'g')"
    )


def value_shape(value: str | None) -> str:
    """Python: the same form as shape_sql."""
    text = re.sub(_SHAPE_DIGITS, "9", (value or "")[:40])
    return re.sub(_SHAPE_OTHER.replace("\\\\", "\\"), "x", text)


@dataclass
class FileResult:
    """What one file contributed: rows read = kept + rejected + duplicates."""

    path: str
    kind: str
    format: str
    encoding: str = ""
    rows_read: int = 0
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped_as: str | None = None  # set when the same content was ingested before
    notes: list[str] = field(default_factory=list)
    file_id: int | None = None
    clock: str = ""  # the zone its naive times were read in, and why

    def summary(self) -> str:
        if self.skipped_as:
            return f"{self.path}: already ingested ({self.skipped_as}), nothing to do"
        text = (
            f"{self.path}: {self.format}, {self.encoding}, clock {self.clock}: {self.rows_read} rows read, "
            f"{self.kept} kept, {self.rejected} rejected, {self.duplicates} duplicates"
        )
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def earlier_ingests(db: Database, kind: str) -> dict[str, str]:
    """sha256 -> how the first ingest of that content is described, for every file of `kind`."""
    rows = db.con.execute(
        "SELECT sha256, arg_min(path, file_id), strftime(arg_min(finished_at, file_id), '%Y-%m-%d %H:%M') "
        "FROM ingest_log WHERE kind = ? GROUP BY sha256",
        [kind],
    ).fetchall()
    return {sha: f"same content as {path} on {when}" for sha, path, when in rows}


def new_file_ids(db: Database, count: int) -> list[int]:
    return [row[0] for row in db.con.execute("SELECT nextval('file_id_seq') FROM range(?)", [count]).fetchall()]


def write_rejects(db: Database, file_id: int, path: str, rejects: list[BadLine], sha256: str) -> None:
    """Store rejected rows: the line and the reason in the database, the line as written in the vault
    (it may hold a number or a name). A file read again (--force) does not store its rejects twice."""
    if not rejects:
        return
    db.vault().put(
        "reject_lines",
        pa.table(
            {
                "sha256": arrays.strings([sha256] * len(rejects)),
                "line": arrays.numbers([r.line for r in rejects]),
                "raw_text": arrays.strings([r.raw for r in rejects]),
            }
        ),
    )
    table = pa.table(
        {
            "line": arrays.numbers([r.line for r in rejects]),
            "reason": arrays.strings([r.reason for r in rejects]),
        }
    )
    ArrowScope(db.con, {"_new_rejects": table}).execute(
        """
        INSERT INTO reject_rows (file_id, path, line, reason)
        SELECT $file_id, $path, n.line, n.reason FROM _new_rejects n
        WHERE NOT EXISTS (SELECT 1 FROM reject_rows r JOIN ingest_log l USING (file_id)
                          WHERE l.sha256 = $sha256 AND r.line = n.line AND r.reason = n.reason)
        ORDER BY n.line
        """,
        {"file_id": file_id, "path": path, "sha256": sha256},
    )


def write_logs(db: Database, entries: list[tuple[FileResult, str, datetime]], timezone_name: str) -> None:
    """One ingest_log row per file: (result, sha256, started) each."""
    finished = datetime.now(UTC)
    columns = {
        "file_id": arrays.numbers(r.file_id for r, _, _ in entries),
        "path": arrays.strings(r.path for r, _, _ in entries),
        "sha256": arrays.strings(sha for _, sha, _ in entries),
        "kind": arrays.strings(r.kind for r, _, _ in entries),
        "format": arrays.strings(r.format for r, _, _ in entries),
        "encoding": arrays.strings(r.encoding for r, _, _ in entries),
        "timezone": arrays.strings([timezone_name] * len(entries)),
        "clock": arrays.strings(r.clock for r, _, _ in entries),
        "rows_read": arrays.numbers(r.rows_read for r, _, _ in entries),
        "kept": arrays.numbers(r.kept for r, _, _ in entries),
        "rejected": arrays.numbers(r.rejected for r, _, _ in entries),
        "duplicates": arrays.numbers(r.duplicates for r, _, _ in entries),
        "started_at": arrays.times(s for _, _, s in entries),
        "finished_at": arrays.times([finished] * len(entries)),
        "notes": arrays.strings("; ".join(r.notes) or None for r, _, _ in entries),
    }
    ArrowScope(db.con, {"_new_logs": pa.table(columns)}).execute(
        "INSERT INTO ingest_log BY NAME SELECT * FROM _new_logs"
    )
