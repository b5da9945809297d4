"""What a record kind (calls, visits, departments) declares for the batch driver.

The driver (ingest/driver.py) runs the same steps for every kind, over a batch of staged files:

    stage -> type -> identify -> check -> reject -> dedupe -> vault -> insert -> account

A store supplies the SQL of each step as data. Its queries read `_stage` (the files' canonical
string columns, `_line` and `_batch`) and `_files` (`_batch`, `file_id`, `file_key`, `sha256`,
`path`, `format`):
- `type_sql`: `_typed`, every staged row, typed, with `reject_reason` (NULL for a usable row);
- checks: the rows of `_typed` a check rejects, as `_batch, _line, reason` (only rows that are
  not rejected yet); the driver writes the reasons into `_typed`, one check after the other;
- `new_sql`: `_new`, the rows to store, with `_batch`; usable rows not in `_new` are duplicates.

`_typed` and `_new` are held by the driver as Arrow tables, not as DuckDB temp tables: a nightly
run stores every batch in one transaction, and DuckDB keeps a dropped table's rows until the
transaction ends, so a year's batches would pile up in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pyarrow as pa

from ...common.duckutil import ArrowScope
from ...common.identity import Pseudonymizer
from ...common.site import SiteSettings

# identify(distinct raw values, site, pseudonymizer) -> Arrow table with a `raw` column.
Identify = Callable[[list, SiteSettings, Pseudonymizer], pa.Table]


class RecordStore:
    kind: ClassVar[str]
    # At most this many files share one pass of SQL (departments: one, as a later file overrides an earlier).
    files_per_batch: ClassVar[int] = 100
    # column of _typed -> how its distinct values are identified; read by the SQL as _ids_<column>.
    identities: ClassVar[dict[str, Identify]] = {}

    def helper_tables(self, typing: Any, site: SiteSettings, pseudo: Pseudonymizer) -> dict[str, pa.Table]:
        """Small tables the statements join (dispositions, kinds, machine applications, topic names)."""
        return {}

    def vault_rows(self, scope: ArrowScope) -> dict[str, pa.Table]:
        """What of the batch goes to the vault (common/vault.py table -> rows), read once _new is made:
        free text and the raw forms of codes. Written before the records, idempotently."""
        return {}

    def params(self, typing: Any, site: SiteSettings) -> dict[str, Any]:
        return {}

    def type_sql(self, typing: Any) -> str:
        raise NotImplementedError

    def type_checks(self, typing: Any) -> list[str]:
        """Checks of the typed rows (a time far from the file's others, ...)."""
        return []

    def identity_checks(self) -> list[str]:
        """Checks once identities are known (conflicts, numbers that are none, ...)."""
        return []

    def new_sql(self) -> str:
        raise NotImplementedError

    def insert_statements(self) -> list[str]:
        raise NotImplementedError

    def file_notes(self, scope: ArrowScope, typing: Any, site: SiteSettings, clocks: dict) -> dict[int, list[str]]:
        """Warnings about whole files of the batch (by _batch), after typing; `clocks` by _batch."""
        return {}
