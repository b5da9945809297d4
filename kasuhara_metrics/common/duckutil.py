"""Small helpers for a DuckDB connection: scratch tables and views, Arrow tables exposed to SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa


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


class ArrowScope:
    """Arrow tables that the statements run through this scope read by name, as if they were tables.

    Not `con.register`: inside a transaction DuckDB keeps a registered table, and so its memory,
    until the transaction ends, even once unregistered, and a nightly run stores a year of batches
    in one transaction. Here each statement finds the tables through DuckDB's replacement scan,
    which looks a name up among the variables of the Python frame that runs the statement: the
    namespace it is run in below. Nothing outlives the statement. (A wrapper around the connection,
    such as a profiler's, puts its own frames in between: it needs `SET python_scan_all_frames = true`.)
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table] | None = None):
        self.con = con
        self.tables: dict[str, pa.Table] = dict(tables or {})

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self._run("_con.execute(_sql, _params)", sql, params)

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """The rows of a query as an Arrow table."""
        return self._run("_con.sql(_sql, params=_params).to_arrow_table()", sql, params)

    def _run(self, call: str, sql: str, params: dict[str, Any] | None) -> Any:
        # no parameters: None, DuckDB's own default for a statement without any
        namespace = self.tables | {"_con": self.con, "_sql": sql, "_params": params or None}
        exec(f"_result = {call}", namespace)  # a fixed call: only the tables' names are new
        return namespace["_result"]


def extend_back_over(con: duckdb.DuckDBPyConnection, table: str, key: str, column: str, intervals: str) -> None:
    """Lower each `key`'s `column` in `table` until no interval of that key straddles it.

    `intervals` is a query of (`key`, started_at, ended_at) rows. An
    interval that ends at or after a key's bound moves the bound back to its start, repeatedly,
    so that everything of the key from the bound on is whole (a contact, a flag's episode).
    """
    while con.execute(f"""
        UPDATE {table} SET {column} = reaching.started_at
        FROM (SELECT b.{key}, min(i.started_at) AS started_at
              FROM {table} b JOIN ({intervals}) i ON i.{key} = b.{key} AND i.ended_at >= b.{column}
              GROUP BY b.{key}) reaching
        WHERE reaching.{key} = {table}.{key} AND reaching.started_at < {table}.{column}
    """).fetchall()[0][0]:
        pass
