"""ingest_log and rejects: the record of every file read and every row that could not be used."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from ..db import Database
from .csvread import BadLine


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

    def summary(self) -> str:
        if self.skipped_as:
            return f"{self.path}: already ingested ({self.skipped_as}), nothing to do"
        text = (
            f"{self.path}: {self.format}, {self.encoding}: {self.rows_read} rows read, {self.kept} kept, "
            f"{self.rejected} rejected, {self.duplicates} duplicates"
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


def next_file_id(db: Database) -> int:
    return db.con.execute("SELECT nextval('file_id_seq')").fetchall()[0][0]


def write_rejects(db: Database, file_id: int, path: str, rejects: list[BadLine], sha256: str) -> None:
    """Store rejected rows; a file read again (--force) does not store its rejects twice."""
    if not rejects:
        return
    table = pa.table(
        {
            "line": pa.array([r.line for r in rejects], pa.int64()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "raw_text": pa.array([r.raw for r in rejects], pa.string()),
        }
    )
    db.con.register("_new_rejects", table)
    try:
        db.con.execute(
            """
            INSERT INTO rejects (file_id, path, line, reason, raw_text)
            SELECT $file_id, $path, n.line, n.reason, n.raw_text FROM _new_rejects n
            WHERE NOT EXISTS (SELECT 1 FROM rejects r JOIN ingest_log l USING (file_id)
                              WHERE l.sha256 = $sha256 AND r.line = n.line AND r.reason = n.reason)
            ORDER BY n.line
            """,
            {"file_id": file_id, "path": path, "sha256": sha256},
        )
    finally:
        db.con.unregister("_new_rejects")


def write_log(db: Database, result: FileResult, sha256: str, timezone_name: str, started: datetime) -> None:
    db.con.execute(
        """INSERT INTO ingest_log (file_id, path, sha256, kind, format, encoding, timezone, rows_read, kept,
                                   rejected, duplicates, started_at, finished_at, notes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.file_id,
            result.path,
            sha256,
            result.kind,
            result.format,
            result.encoding,
            timezone_name,
            result.rows_read,
            result.kept,
            result.rejected,
            result.duplicates,
            started,
            datetime.now(timezone.utc),
            "; ".join(result.notes) or None,
        ],
    )
