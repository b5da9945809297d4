"""The vault: the file beside the database that alone holds raw input and free text.

Raw lines of rejected rows (which operators need to fix and re-send them), the free-text summaries
of visits, the raw forms of topics and departments that the database holds only as codes, and
review notes: anything that can carry a phone number or a name. The vault is a DuckDB file of
its own, `<db>.vault` (or $KASUHARA_VAULT), created with mode 0600; the analysts' database holds
none of it, so no query can reach it. The engine opens it only to write what an ingest or a review
brings, and for operator commands that reveal (`kasuhara rejects --reveal`).

DuckDB commits to one database file per transaction, so the vault is written first, in its own
transaction, and keyed by content (a file's sha256 and line, a code): writing the same again is a
no-op, and rows whose main transaction rolled back are pruned by a later run.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from .errors import DatabaseBusy, DatabaseError

SCHEMA = """
CREATE TABLE IF NOT EXISTS reject_lines (sha256 VARCHAR NOT NULL, line BIGINT NOT NULL, raw_text VARCHAR,
                                         PRIMARY KEY (sha256, line));
CREATE TABLE IF NOT EXISTS visit_summaries (sha256 VARCHAR NOT NULL, line BIGINT NOT NULL, visit_id VARCHAR,
                                            summary VARCHAR, PRIMARY KEY (sha256, line));
-- code -> the raw text it stands for in the database (kind: topic, department)
CREATE TABLE IF NOT EXISTS raw_values (code VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, raw VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS review_notes (note_id VARCHAR PRIMARY KEY, note VARCHAR NOT NULL);
"""

# Primary keys of the vault's tables: an insert of rows already there adds nothing.
KEYS = {
    "reject_lines": ("sha256", "line"),
    "visit_summaries": ("sha256", "line"),
    "raw_values": ("code",),
    "review_notes": ("note_id",),
}


def vault_path(db_path: str) -> Path | None:
    """Where a database's vault lives; None for an in-memory database (its vault is in memory too)."""
    if db_path == ":memory:":
        return None
    return Path(os.environ.get("KASUHARA_VAULT") or f"{db_path}.vault")


@contextmanager
def private_files():
    """Files created inside are readable by their owner only (0600), whatever the umask."""
    before = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(before)


class Vault:
    """An open vault. Writers add rows idempotently; readers reveal them."""

    def __init__(self, db_path: str, *, read_only: bool = False):
        path = vault_path(db_path)
        self.path = str(path) if path else ":memory:"
        if read_only and path is not None and not path.exists():
            raise DatabaseError(
                f"there is no vault at {path} - it is created by the first ingest beside the "
                "database; restore it from the backup of the database"
            )
        try:
            with private_files():
                self.con = duckdb.connect(self.path, read_only=read_only)
                if path is not None:
                    os.chmod(path, 0o600)  # a vault made by an earlier version may be wider
                if not read_only:
                    self.con.execute(SCHEMA)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():  # a nightly run is writing it
                raise DatabaseBusy(f"the vault {self.path} is in use by another process - try again later") from exc
            raise DatabaseError(
                f"cannot open the vault {self.path}: {exc} - only the operator may; ask them, or check its permissions"
            ) from exc

    def put(self, table: str, rows: pa.Table) -> None:
        """Add rows; those already there (the same key) are left as they are."""
        if rows.num_rows == 0:
            return
        keys = ", ".join(KEYS[table])
        with private_files():  # the write-ahead log holds the rows too
            self.con.register("_vault_rows", rows)
            try:
                self.con.execute(
                    f"INSERT INTO {table} BY NAME SELECT * FROM _vault_rows ON CONFLICT ({keys}) DO NOTHING"
                )
            finally:
                self.con.unregister("_vault_rows")

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def prune(self, known: pa.Table) -> None:
        """Forget the lines and summaries of files the database does not hold (a run that rolled back).

        `known` has a `sha256` column: the files the database holds.
        """
        with private_files():
            self.con.register("_known", known)
            try:
                for table in ("reject_lines", "visit_summaries"):
                    self.con.execute(f"DELETE FROM {table} WHERE sha256 NOT IN (SELECT sha256 FROM _known)")
            finally:
                self.con.unregister("_known")

    def close(self) -> None:
        self.con.close()
