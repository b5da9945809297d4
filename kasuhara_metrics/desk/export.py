"""Parquet exports of the analysts' views, for other tools (pseudonyms only, no raw numbers or free text)."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.parquet import EXPORTED, write_view
from ..common.progress import Step, silent
from ..common.sqltext import sql_string


def export_parquet(
    db: Database, out: Path, *, with_notes: bool = False, buckets: int | None = None, progress: Step = silent
) -> list[tuple[Path, int]]:
    """The flags, their evidence and the contacts as Parquet. Review notes (free text, in the vault)
    only when asked for: `flags.parquet` then has a review_note column. With `buckets`, the contacts
    go to `contacts/bucket=K/` by requester (see `bucketed_contacts`) instead of contacts.parquet."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, name in enumerate(EXPORTED):
        progress(name, number, len(EXPORTED))
        if name == "contacts":  # the other layout, from an earlier export: only what an export wrote
            (out / "contacts.parquet").unlink(missing_ok=True)
            if (out / "contacts").is_dir():
                _remove_buckets(out / "contacts")
        if name == "contacts" and buckets:
            written.append((out / "contacts", bucketed_contacts(db, out / "contacts", buckets)))
            continue
        path = out / f"{name}.parquet"
        rows = write_view(db, name, path, add=partial(_with_notes, db) if with_notes and name == "flags" else None)
        written.append((path, rows))
    return written


def _remove_buckets(folder: Path) -> None:
    """An earlier `--buckets` export's contacts/: its bucket=K folders, and the folder once empty."""
    for bucket in folder.glob("bucket=*"):
        shutil.rmtree(bucket)
    if not any(folder.iterdir()):
        folder.rmdir()


def bucket_sql(key: str, buckets: int) -> str:
    """A requester's bucket, 0 to buckets - 1, from the md5 of its key: the same in every shard and every
    version (DuckDB's own hash() may change), and in Spark as `conv(substr(md5(key), 1, 8), 16, 10) % N`.
    Contacts of nobody (withheld, staff) have no requester and go to bucket -1."""
    return f"coalesce(CAST(CAST('0x' || substr(md5({key}), 1, 8) AS UBIGINT) % {int(buckets)} AS INTEGER), -1)"


def bucketed_contacts(db: Database, folder: Path, buckets: int) -> int:
    """The contacts as Parquet files under `folder`/bucket=K/, a requester's contacts all in one bucket:
    shards of a consolidation write the same buckets, and a bucket of every shard can be judged alone."""
    ((rows,),) = db.con.execute("SELECT count(*) FROM contacts").fetchall()
    db.con.execute(
        f"""COPY (SELECT *, {bucket_sql("requester_key", buckets)} AS bucket FROM contacts
                  ORDER BY bucket, requester_key, started_at, contact_id)
            TO {sql_string(str(folder))} (FORMAT PARQUET, PARTITION_BY (bucket))"""
    )
    return rows


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
    return flags.append_column("review_note", arrays.strings([notes.get(i) for i in ids]))
