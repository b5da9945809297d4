"""Small helpers for a DuckDB connection: scratch tables and views, Arrow tables exposed to SQL."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

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


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of a query as dicts by column name."""
    cursor = con.execute(sql, params or {})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


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
