"""Bringing `contacts` up to the stored records: everything rebuilt, or only what new files touch,
writing only the contacts that differ and listing whose changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..common.db import Database
from ..common.duckutil import drop_temp_tables
from .changes import EVERYONE, UNJUDGED, ChangedFrom, list_unjudged
from .links import rebuild_requester_links, relinked_pseudonyms
from .scope import scope_records
from .sql import call_contact_steps, merged_contacts_sql, simple_contacts_sql, visit_contacts_sql


def are_stale(db: Database) -> bool:
    """Has a file been stored after the contacts were last built?"""
    latest = db.con.execute("SELECT max(file_id) FROM ingest_log").fetchall()[0][0]
    built = db.meta("contacts_built_through_file")
    return latest is not None and (built is None or int(built) < latest)


@dataclass
class Refresh:
    """What a contacts refresh did: rebuilt everything, or only the contacts the new records touch.

    `changed_from` names each requester with a contact added, changed or gone, and the start of
    the earliest such contact (old or new): the judge needs to look no further back than that.
    """

    contacts: int
    changed_from: Mapping[str, datetime] | None  # None: everything was rebuilt

    @property
    def requesters(self) -> list[str] | None:
        """The requesters whose contacts changed (None: possibly anyone's)."""
        return None if self.changed_from is None else sorted(self.changed_from)


def refresh(db: Database, *, full: bool = False) -> Refresh:
    """Bring `contacts` up to the stored records, rebuilding only what the new files touch.

    Everything is rebuilt when asked, when the departments changed (they reach into every old
    contact), when there is no earlier build to start from, or when the new files hold most of
    the records. A visit that links pseudonyms (a phone and a requester_ref) rebuilds every
    contact of the requesters it joins or splits.
    """
    built = db.meta("contacts_built_through_file")
    links_before = set(db.con.execute("SELECT alias_key, requester_key FROM requester_links").fetchall())
    rebuild_requester_links(db)
    links_after = set(db.con.execute("SELECT alias_key, requester_key FROM requester_links").fetchall())
    new_departments = (
        built is not None
        and db.con.execute(
            "SELECT count(*) FROM ingest_log WHERE file_id > ? AND kind = 'departments'", [int(built)]
        ).fetchall()[0][0]
    )
    if full or built is None or new_departments or _mostly_new(db, int(built)):
        return _rebuild(db, None)
    return _rebuild(db, int(built), relinked=relinked_pseudonyms(links_before, links_after))


def _mostly_new(db: Database, built: int) -> bool:
    """Do the new files hold most of the records? Then building everything is the shorter way."""
    new, stored = db.con.execute(
        """
        SELECT count(*) FILTER (WHERE file_id > $built), count(*)
        FROM (SELECT file_id FROM call_legs UNION ALL SELECT file_id FROM visit_records)
        """,
        {"built": built},
    ).fetchall()[0]
    return new * 2 > stored


def rebuild(db: Database) -> int:
    """Recompute all of `contacts` from the stored legs and visits; returns the number of contacts."""
    return refresh(db, full=True).contacts


def _rebuild(db: Database, after_file: int | None, relinked: list[str] | None = None) -> Refresh:
    """Rebuild contacts: all of them, or those of files after `after_file` and of their requesters,
    and every contact of the `relinked` pseudonyms."""
    con = db.con
    changed_from = None
    try:
        scoped = after_file is not None
        if after_file is not None:
            scope_records(db, after_file, relinked or [])
        legs, visits = ("_scope_legs", "_scope_visit_rows") if scoped else ("call_legs", "visits")
        for statement in call_contact_steps(legs):
            con.execute(statement)
        if scoped:
            # Built aside, then only the rows that differ are written: a day's calls do not rewrite a year.
            con.execute("CREATE OR REPLACE TEMP TABLE _built AS FROM contacts LIMIT 0")
        else:
            con.execute("DELETE FROM contacts")
        target = "_built" if scoped else "contacts"
        # One INSERT, in order: separate or unordered parallel INSERTs each leave a partly filled row
        # group, which the next checkpoint merges (1.1 s of a 1M-record year's nightly run).
        parts = (simple_contacts_sql(), merged_contacts_sql(), visit_contacts_sql(visits))
        con.execute(
            f"INSERT INTO {target} BY NAME SELECT * FROM ("
            + " UNION ALL BY NAME ".join(f"({part})" for part in parts)
            + ") ORDER BY started_at, contact_id"
        )
        if scoped:
            changed_from = _write_differences(db)
        if changed_from is None:
            db.set_meta(UNJUDGED, EVERYONE)
        elif changed_from:
            list_unjudged(db, changed_from)
    finally:
        drop_temp_tables(
            con,
            "_leg",
            "_multi_leg_call",
            "_unit",
            "_unit_order",
            "_scope_requesters",
            "_scope_relinked",
            "_scope_aliases",
            "_scope_calls",
            "_scope_call_refs",
            "_scope_visits",
            "_built",
            "_stored_ids",
            "_stored",
            "_stale",
            "_fresh",
            "_scope_legs",
            "_scope_visit_rows",
        )
    latest = con.execute("SELECT coalesce(max(file_id), 0) FROM ingest_log").fetchall()[0][0]
    db.set_meta("contacts_built_through_file", str(latest))
    return Refresh(con.execute("SELECT count(*) FROM contacts").fetchall()[0][0], changed_from)


def _write_differences(db: Database) -> ChangedFrom:
    """Replace the scope's stored contacts by `_built`, writing only rows that differ; what changed from when."""
    con = db.con
    # Which stored contacts are in scope, from narrow columns; then those rows whole, from the
    # earliest of them on: contacts are stored mostly in order of start (a full build in order,
    # each night's after), so a day's scope reads the last row groups of a year, not all of them
    # (0.9 s of a 10M-record year's new day). A relinked requester's scope starts at its first
    # contact, and then everything is read, as before. Looking a scoped call or visit up by its id
    # reads from the earliest start among their legs and visits on, not a year of ids (0.2 s at
    # 10M): a call's stored contact is named after its first call, which started no earlier than
    # its earliest leg stored now (legs are only ever added).
    (ids_since,) = con.execute("""
        SELECT least((SELECT min(started_at) FROM _scope_legs), (SELECT min(arrived_at) FROM _scope_visit_rows))
    """).fetchall()[0]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _stored_ids AS
        SELECT c.contact_id, c.started_at FROM contacts c
        JOIN _scope_requesters r ON r.requester_key = c.requester_key AND c.started_at >= r.rebuild_from
        WHERE c.channel = 'call'
        -- and the calls of scoped legs that belong to no requester (an outbound call from a number in scope)
        UNION SELECT contact_id, started_at FROM contacts WHERE started_at >= $ids_since AND contact_id IN (
            SELECT 'call:' || call_ref FROM _scope_call_refs UNION SELECT 'visit:' || visit_id FROM _scope_visits
        )
    """,
        {"ids_since": ids_since},
    )
    (since,) = con.execute("SELECT min(started_at) FROM _stored_ids").fetchall()[0]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _stored AS
        SELECT * FROM contacts WHERE started_at >= $since AND contact_id IN (SELECT contact_id FROM _stored_ids)
        """,
        {"since": since},
    )
    fresh = "_fresh"
    if con.execute("SELECT count(*) FROM _stored").fetchall()[0][0]:
        con.execute("CREATE OR REPLACE TEMP TABLE _stale AS SELECT * FROM _stored EXCEPT ALL SELECT * FROM _built")
        con.execute("CREATE OR REPLACE TEMP TABLE _fresh AS SELECT * FROM _built EXCEPT ALL SELECT * FROM _stored")
        con.execute("DELETE FROM contacts WHERE contact_id IN (SELECT contact_id FROM _stale)")
    else:
        # Nothing stored in scope (a day's new calls, a file of new visits): all that was built is
        # new. The two comparisons cost 0.8 s of `ingest visits` of a 1M-record year's 150,000
        # visits, and ~0.5 s of a new day on a 10M-record year.
        con.execute("CREATE OR REPLACE TEMP TABLE _stale AS FROM _stored")
        fresh = "_built"
    con.execute(f"INSERT INTO contacts BY NAME SELECT * FROM {fresh}")
    return ChangedFrom(
        con.sql(f"""
            SELECT requester_key, min(started_at) AS changed_from FROM (
                SELECT requester_key, started_at FROM _stale UNION ALL SELECT requester_key, started_at FROM {fresh}
            ) WHERE requester_key IS NOT NULL GROUP BY requester_key
        """).to_arrow_table()
    )
