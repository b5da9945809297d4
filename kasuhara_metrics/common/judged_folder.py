"""A Spark judge's output folder (flags.parquet, flag_evidence/, judge_run.json), read as a database.

Apart from the Parquet writer (parquet.py): every `connect` asks whether its path is such a folder,
and that question needs no Parquet library.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

from .db import Database
from .errors import DatabaseError
from .sqltext import sql_list, sql_string

# What `kasuhara judge --engine spark` writes beside flags.parquet: the run, and its evidence.
RUN_FILE = "judge_run.json"
EVIDENCE_FOLDER = "flag_evidence"


def is_judged_folder(path: str | Path) -> bool:
    """Whether `path` is the output folder of a Spark judge run."""
    return Path(path).is_dir() and (Path(path) / RUN_FILE).is_file()


def refuse_writing_to_judged_folder(path: str | Path) -> None:
    """Writers (ingest, judge, review) need a database file, not a Spark output folder."""
    if is_judged_folder(path):
        raise DatabaseError(
            f"{path} is the output of a Spark judge run: report, flags, explain and query read it; "
            "ingest, judge and review need a database file"
        )


def contacts_paths(sources: list[Path]) -> list[Path]:
    """The contacts Parquet of each source: an export folder's contacts.parquet (a file, or a folder of
    part files such as `kasuhara export --buckets` writes), or a Parquet file or folder named directly."""
    paths = []
    for source in sources:
        candidates = [source / "contacts.parquet", source / "contacts"] if source.is_dir() else []
        paths.append(next((candidate for candidate in candidates if candidate.exists()), source))
    return paths


def parquet_glob(path: Path) -> str:
    """What DuckDB reads for a Parquet file or a folder of them (bucket=K/ folders included)."""
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def open_judged_folder(folder: Path, timezone: str) -> Database:
    """A read-only database over a Spark judge's output folder and the contacts it judged, for the
    commands that read flags (report, flags, explain, query) and the analysts' notebook.

    The tables the readers use become views over the Parquet files: nothing is copied.
    """
    from .db import connect  # db imports this module to open such folders

    run = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    db = connect(":memory:", timezone=timezone)
    con = db.con
    if any("://" in source for source in run["sources"]):
        db.close()
        raise DatabaseError(
            f"{folder / RUN_FILE}: the run read its contacts from {', '.join(run['sources'])}; only a run over "
            "local contacts opens as a database (its flags.parquet and flag_evidence/ read anywhere)"
        )
    sources = contacts_paths([Path(source) for source in run["sources"]])
    contacts = [parquet_glob(path) for path in sources]
    missing = [path for path in contacts if not glob.glob(path, recursive=True)]
    if missing:
        db.close()
        raise DatabaseError(f"{folder / RUN_FILE} names contacts that are gone: {', '.join(missing)}")
    # The views read these files even where a reader shuts off other file access (`kasuhara query`).
    readable = [folder, *sources]
    con.execute("SET allowed_directories = $dirs", {"dirs": [f"{p.resolve()}/" for p in readable if p.is_dir()]})
    con.execute("SET allowed_paths = $paths", {"paths": [str(p.resolve()) for p in readable if p.is_file()]})
    # each table a view over its files, with the table's own columns (flags.parquet also holds the
    # review columns of the `flags` view, which reviews recompute; bucketed contacts their bucket)
    for table, files in (
        ("contacts", f"{sql_list(contacts)}, hive_partitioning = true, union_by_name = true"),
        ("flag_rows", sql_string(str(folder / "flags.parquet"))),
        ("flag_evidence_rows", sql_string(parquet_glob(folder / EVIDENCE_FOLDER))),
    ):
        columns = ", ".join(row[0] for row in con.execute(f"SELECT * FROM {table} LIMIT 0").description)
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE VIEW {table} AS SELECT {columns} FROM read_parquet({files})")
    con.execute(
        """INSERT INTO judge_runs (run_id, started_at, finished_at, profile_path, profile_name, profile_version,
                                   profile_hash, as_of, contacts_judged, flags, flags_new, flags_updated, flags_gone)
           VALUES ($run_id, $started_at, $finished_at, $profile_path, $profile_name, $profile_version,
                   $profile_hash, $as_of, $contacts_judged, $flags, $flags, 0, 0)""",
        {key: run[key] for key in RUN_KEYS},
    )
    for rule in run["rules"]:
        con.execute(
            "INSERT INTO rule_runs (run_id, rule_id, rule_hash, kind, contacts_evaluated, hits, flags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run["run_id"],
                rule["rule_id"],
                rule["rule_hash"],
                rule["kind"],
                rule["contacts_evaluated"],
                rule["hits"],
                rule["flags"],
            ],
        )
    db.read_only, db.path = True, str(folder)
    return db


RUN_KEYS = (
    "run_id",
    "started_at",
    "finished_at",
    "profile_path",
    "profile_name",
    "profile_version",
    "profile_hash",
    "as_of",
    "contacts_judged",
    "flags",
)
