"""The changes of contacts that no judge run has judged yet: everyone's, or a list of requesters.

A contacts refresh lists what it changed; the next judge run (`kasuhara judge`, or the nightly run)
judges that list and takes it off (`mark_judged`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

import pyarrow as pa

from ..common.db import Database
from ..common.duckutil import ArrowScope

# Set when contacts change, cleared by the judge run that judges the change (`unjudged`): the flags
# (and the judge's stored hits) of requesters whose contacts an `ingest` command changed are not
# those of their contacts until then. EVERYONE (also what versions before the list wrote): anyone's
# contacts may have changed; LISTED: the requesters in `unjudged_changes`.
UNJUDGED = "contacts_changed_since_judge"
EVERYONE, LISTED = "yes", "listed"


class ChangedFrom(Mapping[str, datetime]):
    """Each requester whose contacts changed, with the start of the earliest changed contact.

    Held as the Arrow table DuckDB gave (requester_key, changed_from), which the judge hands back
    to DuckDB as it is: as Python datetimes, a night's 30,000 zone-aware times took 0.2 s to fetch
    and more to convert back. Read as a mapping, its values are converted on first use.
    """

    def __init__(self, table: pa.Table):
        self.table = table
        self._values: dict[str, datetime] | None = None

    def __getitem__(self, key: str) -> datetime:
        if self._values is None:
            keys, starts = (self.table.column(name).to_pylist() for name in ("requester_key", "changed_from"))
            self._values = dict(zip(keys, starts, strict=True))
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.column("requester_key").to_pylist())

    def __len__(self) -> int:
        return self.table.num_rows


def list_unjudged(db: Database, changed: ChangedFrom) -> None:
    """Add a refresh's changes to those the next judge run takes (unless it judges everyone anyway)."""
    if db.meta(UNJUDGED) == EVERYONE:
        return
    changes = ArrowScope(db.con, {"_changes": changed.table})
    changes.execute("INSERT INTO unjudged_changes SELECT requester_key, changed_from FROM _changes")
    db.set_meta(UNJUDGED, LISTED)


def unjudged(db: Database) -> Mapping[str, datetime] | None:
    """The requesters whose contacts changed since the last judge run, each from the start of its
    earliest changed contact ({}: none); None: possibly anyone's, so the judge takes everyone."""
    state = db.meta(UNJUDGED)
    if state is None:
        return {}
    if state != LISTED:
        return None
    return ChangedFrom(
        db.con.sql("""
            SELECT requester_key, if(bool_or(changed_from IS NULL), NULL, min(changed_from)) AS changed_from
            FROM unjudged_changes GROUP BY requester_key  -- NULL: the whole history, as in judge.scope
        """).to_arrow_table()
    )


def mark_judged(db: Database, scope_table: str | None = None, *, cut_off: bool = False) -> None:
    """A judge run took the listed changes of the requesters in `scope_table` (requester_key,
    changed_from: judged from then on), or, without one, everyone's. A run cut off at a day
    (`--as-of`) leaves everyone to judge again: its flags lack what came after that day."""
    if cut_off or scope_table is None:
        db.con.execute("DELETE FROM unjudged_changes")
        if cut_off:
            db.set_meta(UNJUDGED, EVERYONE)
        else:
            db.clear_meta(UNJUDGED)
        return
    if db.meta(UNJUDGED) != LISTED:  # nothing listed, or everyone still to judge
        return
    db.con.execute(f"""
        DELETE FROM unjudged_changes u USING {scope_table} s
        WHERE u.requester_key = s.requester_key AND coalesce(u.changed_from, '-infinity') >= s.changed_from
    """)
    if not db.con.execute("SELECT count(*) FROM unjudged_changes").fetchall()[0][0]:
        db.clear_meta(UNJUDGED)
