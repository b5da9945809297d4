"""Small helpers for a DuckDB connection: scratch tables and views, Arrow tables exposed to SQL."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb


def drop_temp_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop scratch tables; after a failed statement the rollback removes them anyway."""
    _drop(con, "TABLE", names)


def drop_temp_views(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    _drop(con, "VIEW", names)


def _drop(con: duckdb.DuckDBPyConnection, kind: str, names: tuple[str, ...]) -> None:
    for name in names:
        try:
            con.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.TransactionException:  # an aborted transaction: its rollback drops them
            return


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table):
    """Expose an Arrow table to SQL as `name` for the statements inside the block."""
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def unregister_all(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass
