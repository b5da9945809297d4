"""One batch of staged files stored: the SQL steps of its record kind's store, in one pass.

    stage -> type -> check -> identify -> check -> reject -> dedupe -> vault -> insert

Every count is kept per file (the driver checks that each row read is kept, rejected or a
duplicate). The batch's scratch (staged, typed and new rows, identities) is held by Python as Arrow
and read by name through `ArrowScope`: nothing of it stays in the transaction, which in a nightly
run holds a year of batches.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.duckutil import ArrowScope
from ..common.identity import Pseudonymizer
from ..common.site import SiteSettings
from .csvread import BadLine
from .filelog import FileResult, write_rejects
from .sources import Staged
from .stores import RecordStore
from .stores.calls import file_key

# Rows per INSERT. An INSERT of more than a row group (122,880 rows) is written by each thread into
# row groups of its own, each leaving a partly filled one behind; the next checkpoint merges them
# (~0.7 s for every few, paid by the next night's run). Smaller INSERTs fill the table's row groups
# in turn, in parallel all the same.
INSERT_ROWS = 100_000

# A check's reasons (`_rejected`: _batch, _line, reason) written into the rows of _typed they name.
_REJECTED_SQL = """
SELECT t.* REPLACE (coalesce(t.reject_reason, r.reason) AS reject_reason)
FROM _typed t LEFT JOIN (SELECT _batch, _line, min(reason) AS reason FROM _rejected GROUP BY ALL) r
  ON r._batch = t._batch AND r._line = t._line
"""


def _bound(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement names: DuckDB refuses others."""
    return {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)}


def store_records(
    db: Database, store: RecordStore, files: list[tuple[Staged, FileResult]], site: SiteSettings, pseudo: Pseudonymizer
) -> None:
    """Type, identify, check, de-duplicate and insert the records of a batch of files; fill each result.

    Every count is kept per file; a record in two files of the batch is kept in the first.
    """
    con = db.con
    first = files[0][0]
    tables = {
        "_stage": pa.concat_tables(
            [
                staged.table.append_column("_batch", arrays.numbers([n] * staged.table.num_rows, pa.int32()))
                for n, (staged, _) in enumerate(files)
            ]
        ),
        "_files": pa.table(
            {
                "_batch": arrays.numbers(range(len(files)), pa.int32()),
                "file_id": arrays.numbers([result.file_id for _, result in files]),
                "file_key": arrays.strings([file_key(staged.sha256) for staged, _ in files]),
                "sha256": arrays.strings([staged.sha256 for staged, _ in files]),
                "path": arrays.strings([staged.path for staged, _ in files]),
                "format": arrays.strings([staged.format for staged, _ in files]),
            }
        ),
    } | store.helper_tables(first.typing, site, pseudo)
    params = store.params(first.typing, site) | {"clock_zone": first.clock.zone}
    scope = ArrowScope(con, tables)

    def hold(name: str, sql: str) -> None:
        """`sql`'s rows as `name`, held by Python: nothing of a batch stays in the transaction."""
        scope.tables[name] = scope.arrow(sql, _bound(sql, params))

    def check(checks: list[str]) -> None:
        """Write each check's reasons into _typed, one check after the other."""
        for sql in checks:
            rejected = scope.arrow(sql, _bound(sql, params))
            if rejected.num_rows:
                scope.tables["_rejected"] = rejected
                hold("_typed", _REJECTED_SQL)

    try:
        hold("_typed", store.type_sql(first.typing))
        check(store.type_checks(first.typing))
        for column, identify in store.identities.items():
            values = [
                row[0]
                for row in scope.execute(
                    f'SELECT DISTINCT "{column}" FROM _typed WHERE reject_reason IS NULL'
                ).fetchall()
            ]
            scope.tables[f"_ids_{column}"] = identify(values, site, pseudo)
        check(store.identity_checks())
        bad: dict[int, list[tuple[int, str]]] = {}
        for number, line, reason in scope.execute(
            "SELECT _batch, _line, reject_reason FROM _typed WHERE reject_reason IS NOT NULL ORDER BY _line"
        ).fetchall():
            bad.setdefault(number, []).append((line, reason))
        hold("_new", store.new_sql())
        usable = dict(
            scope.execute("SELECT _batch, count(*) FROM _typed WHERE reject_reason IS NULL GROUP BY ALL").fetchall()
        )
        kept = dict(scope.execute("SELECT _batch, count(*) FROM _new GROUP BY ALL").fetchall())
        notes = store.file_notes(scope, first.typing, site, {n: staged.clock for n, (staged, _) in enumerate(files)})
        for table, vault_rows in store.vault_rows(scope).items():  # first: a record never stands without its text
            db.vault().put(table, vault_rows)
        new = scope.tables["_new"]
        for start in range(0, max(new.num_rows, 1), INSERT_ROWS):  # once at least, as stores expect
            scope.tables["_new"] = new.slice(start, INSERT_ROWS)
            for sql in store.insert_statements():
                scope.execute(sql, _bound(sql, params))
    finally:
        scope.tables.clear()  # a failed batch's rows are let go before its files are tried one by one
    for number, (staged, result) in enumerate(files):
        rejects = list(staged.rejects)
        if number in bad:
            raw = staged.raw_lines({line for line, _ in bad[number]})
            rejects.extend(BadLine(line, raw.get(line, ""), reason) for line, reason in bad[number])
        result.rows_read = staged.rows_read
        result.rejected = len(rejects)
        result.kept = kept.get(number, 0)
        result.duplicates = usable.get(number, 0) - result.kept
        result.notes.extend(notes.get(number, []))
        assert result.file_id is not None  # every file stored was given its id before its records
        write_rejects(db, result.file_id, result.path, sorted(rejects, key=lambda r: r.line), staged.sha256)
