"""Parquet exports of the analysts' views, for other tools (pseudonyms only, no raw numbers)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from .db import Database

EXPORTED = {
    "flags": "SELECT * FROM flags ORDER BY first_at, flag_id",
    "flag_evidence": "SELECT * FROM flag_evidence ORDER BY flag_id, started_at",
    "contacts": "SELECT * FROM contacts ORDER BY started_at, contact_id",
}


def export_parquet(db: Database, out: Path) -> list[tuple[Path, int]]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, sql in EXPORTED.items():
        table = db.con.sql(sql).to_arrow_table()
        path = out / f"{name}.parquet"
        pq.write_table(table, path)
        written.append((path, table.num_rows))
    return written
