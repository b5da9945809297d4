"""The DuckDB file: opening it, its schema version and migrations, and read-only access.

One file holds everything (`--db`, $KASUHARA_DB, default ./kasuhara.duckdb). Writers migrate
the schema in place on open, so a later release upgrades an existing database; readers open
it read-only and never change it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import DatabaseBusy, DatabaseError
from .schema import MIGRATIONS
from .sqltext import sql_string
from .vault import Vault

DEFAULT_DB = "kasuhara.duckdb"
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> str:
    return os.environ.get("KASUHARA_DB") or DEFAULT_DB


def find_database(start: str | Path | None = None) -> str:
    """The database an analyst means from wherever a notebook starts: $KASUHARA_DB, else the nearest
    kasuhara.duckdb in `start` (default: the working directory) or a folder above it, else the one in the
    checkout this package runs from (where `make demo` writes it)."""
    if os.environ.get("KASUHARA_DB"):
        return os.environ["KASUHARA_DB"]
    here = Path(start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[2]
    for folder in (here, *here.parents, checkout):
        if (folder / DEFAULT_DB).is_file():
            return str(folder / DEFAULT_DB)
    raise DatabaseError(
        f"no {DEFAULT_DB} in {here} or any folder above it - set KASUHARA_DB to the database's path, "
        "or run `make demo` in the repository for the bundled synthetic ward"
    )


@dataclass
class Database:
    """An open database and the path it came from."""

    con: duckdb.DuckDBPyConnection
    path: str
    read_only: bool
    _depth: int = 0  # open transaction() blocks: inner ones join the outermost
    on_close: Callable[[], None] | None = None  # e.g. releasing the run lock
    _vault: Vault | None = None

    def vault(self) -> Vault:
        """The vault beside the database (vault.py), opened on first use, read-only for readers."""
        if self._vault is None:
            self._vault = Vault(self.path, read_only=self.read_only)
        return self._vault

    def close(self) -> None:
        self.con.close()
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        if self.on_close is not None:
            self.on_close()
            self.on_close = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self):
        """All or nothing: a failure (or a kill) leaves the database as it was before.

        A transaction inside another joins it: the nightly run ingests and judges as one.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def clear_meta(self, key: str) -> None:
        self.con.execute("DELETE FROM meta WHERE key = ?", [key])


_LOCK_PID = re.compile(r"PID (\d+)")


def connect(path: str | None = None, *, read_only: bool = False, timezone: str = "Asia/Tokyo") -> Database:
    """Open (and for writers, create and migrate) the database at `path`."""
    path = path or default_db_path()
    from .judged_folder import is_judged_folder, open_judged_folder, refuse_writing_to_judged_folder

    if is_judged_folder(path):  # a Spark judge's output: read-only
        if not read_only:
            refuse_writing_to_judged_folder(path)
        return open_judged_folder(Path(path), timezone)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise DatabaseError(f"{path} does not exist - ingest some files first, or pass --db PATH")
    try:
        con = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = _LOCK_PID.search(text)
            holder = f" (PID {pid.group(1)})" if pid else ""
            raise DatabaseBusy(
                f"{path} is in use by another process{holder} - wait for it to finish and try again"
            ) from exc
        raise DatabaseError(f"cannot open {path}: {text}") from exc
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot open {path} as a DuckDB database: {exc}") from exc
    # Day and week boundaries are computed in the site zone; stored values are absolute instants.
    con.execute(f"SET TimeZone = {sql_string(timezone)}")
    # A cap on DuckDB's memory (e.g. 4GB): beyond it, large sorts and joins spill to disk.
    limit = os.environ.get("KASUHARA_MEMORY_LIMIT")
    if limit:
        try:
            con.execute(f"SET memory_limit = {sql_string(limit)}")
        except duckdb.Error as exc:
            con.close()
            raise DatabaseError(f"KASUHARA_MEMORY_LIMIT={limit!r} is not a memory size such as 4GB: {exc}") from exc
    db = Database(con, path, read_only)
    if read_only:
        _check_version_for_reading(db)
    else:
        migrate(db)
    return db


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def migrate(db: Database) -> int:
    """Apply every migration the database has not seen, each in its own transaction."""
    current = schema_version(db.con)
    if current > SCHEMA_VERSION:
        raise DatabaseError(
            f"{db.path} has schema version {current}, newer than this kasuhara understands "
            f"({SCHEMA_VERSION}) - upgrade kasuhara_metrics"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        try:
            with db.transaction():
                step = MIGRATIONS[version - 1]
                if callable(step):  # a migration that also moves data to the vault (schema.py)
                    step(db)
                else:
                    db.con.execute(step)
                db.con.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, now())", [version])
        except duckdb.Error as exc:
            raise DatabaseError(f"migration to schema version {version} failed on {db.path}: {exc}") from exc
    return SCHEMA_VERSION


def _check_version_for_reading(db: Database) -> None:
    current = schema_version(db.con)
    if current < SCHEMA_VERSION:
        raise DatabaseError(
            f"{db.path} has schema version {current}; this kasuhara needs {SCHEMA_VERSION} - "
            "run any ingest command (or `kasuhara migrate`) once to upgrade it in place"
        )
    if current > SCHEMA_VERSION:
        raise DatabaseError(
            f"{db.path} has schema version {current}, newer than this kasuhara understands "
            f"({SCHEMA_VERSION}) - upgrade kasuhara_metrics"
        )
