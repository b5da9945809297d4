"""Parquet exports of the analysts' views, for other tools (pseudonyms only, no raw numbers or free text)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..common.db import Database
from ..common.progress import Step, silent

EXPORTED = {
    "flags": "SELECT * FROM flags ORDER BY first_at, flag_id",
    "flag_evidence": "SELECT * FROM flag_evidence ORDER BY flag_id, started_at",
    "contacts": "SELECT * FROM contacts ORDER BY started_at, contact_id",
}


def export_parquet(
    db: Database, out: Path, *, with_notes: bool = False, progress: Step = silent
) -> list[tuple[Path, int]]:
    """The flags, their evidence and the contacts as Parquet. Review notes (free text, in the vault)
    only when asked for: `flags.parquet` then has a review_note column."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, (name, sql) in enumerate(EXPORTED.items()):
        progress(name, number, len(EXPORTED))
        table = db.con.sql(sql).to_arrow_table()
        if name == "flags" and with_notes:
            table = _with_notes(db, table)
        path = out / f"{name}.parquet"
        pq.write_table(table, path)
        written.append((path, table.num_rows))
    return written


def _with_notes(db: Database, flags: pa.Table) -> pa.Table:
    latest = dict(
        db.con.execute("""
        SELECT flag_id, arg_max(note_id, review_id) FROM review_rows GROUP BY flag_id
    """).fetchall()
    )
    ids = [latest.get(flag_id) for flag_id in flags["flag_id"].to_pylist()]
    notes = (
        dict(
            db.vault().rows(
                "SELECT note_id, note FROM review_notes WHERE list_contains(?, note_id)", [[i for i in ids if i]]
            )
        )
        if any(ids)
        else {}
    )
    return flags.append_column("review_note", pa.array([notes.get(i) for i in ids], pa.string()))
