"""Legs and visits -> contacts: one row per contact of a requester, rebuilt from the stored records.

A call is its legs: legs sharing an Asterisk linkedid (else uniqueid, else the export's call id)
are one call, and calls of one requester that overlap in time (a transfer written as two records,
or a forked leg without ids) are one contact. Its span runs from the first leg's start to the last
leg's end; its talk time is the union of the answered legs' [answer, end] intervals; its department
is that of the last answered leg's dialled number (else the last leg's).

Calls from staff extensions, from the ward's own numbers and to outside numbers are kept as
contacts with no requester, as are withheld and unusable callers: they never make a requester.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from .common import arrays
from .common.db import Database
from .common.duckutil import ArrowScope, drop_temp_tables, extend_back_over

# A contact's outcome is its best leg's: answered > machine > dropped > busy > no_answer > failed.
_OUTCOME_RANK = (
    "CASE outcome WHEN 'answered' THEN 0 WHEN 'machine' THEN 1 WHEN 'dropped' THEN 2 WHEN 'busy' THEN 3 "
    "WHEN 'no_answer' THEN 4 ELSE 5 END"
)


def rebuild_requester_links(db: Database) -> int:
    """Join pseudonyms seen together on one visit (phone and requester_ref) into one requester."""
    # The ward's own numbers (a visitor who gave the switchboard's number) link nobody.
    pairs = db.con.execute("""
        SELECT DISTINCT phone_key, ref_key FROM visit_records
        WHERE phone_key IS NOT NULL AND ref_key IS NOT NULL
          AND phone_key NOT IN (SELECT number_key FROM departments WHERE number_key IS NOT NULL)
    """).fetchall()
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for phone, ref in pairs:
        a, b = find(phone), find(ref)
        if a != b:
            parent[max(a, b)] = min(a, b)
    components: dict[str, list[str]] = {}
    for key in list(parent):
        components.setdefault(find(key), []).append(key)
    phones = {phone for phone, _ in pairs}
    aliases, targets = [], []
    for members in components.values():
        # A phone pseudonym names the person when there is one, so calls need no link to be found.
        representative = min((m for m in members if m in phones), default=min(members))
        for member in members:
            if member != representative:
                aliases.append(member)
                targets.append(representative)
    db.con.execute("DELETE FROM requester_links")
    if aliases:
        links = ArrowScope(
            db.con,
            {"_links": pa.table({"alias_key": arrays.strings(aliases), "requester_key": arrays.strings(targets)})},
        )
        links.execute("INSERT INTO requester_links BY NAME SELECT alias_key, requester_key FROM _links")
    return len(aliases)


# Set when contacts change, cleared by the judge run that judges the change (`unjudged`): the flags
# (and the judge's stored hits) of requesters whose contacts an `ingest` command changed are not
# those of their contacts until then. EVERYONE (also what versions before the list wrote): anyone's
# contacts may have changed; LISTED: the requesters in `unjudged_changes`.
UNJUDGED = "contacts_changed_since_judge"
EVERYONE, LISTED = "yes", "listed"


def are_stale(db: Database) -> bool:
    """Has a file been stored after the contacts were last built?"""
    latest = db.con.execute("SELECT max(file_id) FROM ingest_log").fetchall()[0][0]
    built = db.meta("contacts_built_through_file")
    return latest is not None and (built is None or int(built) < latest)


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
    return _rebuild(db, int(built), relinked=_relinked(links_before, links_after))


def _relinked(before: set[tuple[str, str]], after: set[tuple[str, str]]) -> list[str]:
    """The pseudonyms of every requester that a change of links joins, splits or renames: each
    one's contacts (all of them, calls merge by requester) are those of another requester now."""
    requester_before, requester_after = dict(before), dict(after)
    moved = {
        alias
        for alias in requester_before.keys() | requester_after.keys()
        if requester_before.get(alias, alias) != requester_after.get(alias, alias)
    }
    requesters = {requester_before.get(a, a) for a in moved} | {requester_after.get(a, a) for a in moved}
    return sorted(requesters | {alias for alias, requester in before | after if requester in requesters})


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
            _scope(db, after_file, relinked or [])
        legs, visits = ("_scope_legs", "_scope_visit_rows") if scoped else ("call_legs", "visits")
        for statement in _call_contact_steps(legs):
            con.execute(statement)
        if scoped:
            # Built aside, then only the rows that differ are written: a day's calls do not rewrite a year.
            con.execute("CREATE OR REPLACE TEMP TABLE _built AS FROM contacts LIMIT 0")
        else:
            con.execute("DELETE FROM contacts")
        target = "_built" if scoped else "contacts"
        # One INSERT, in order: separate or unordered parallel INSERTs each leave a partly filled row
        # group, which the next checkpoint merges (1.1 s of a 1M-record year's nightly run).
        parts = (_simple_contacts_sql(), _merged_contacts_sql(), _visit_contacts_sql(visits))
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
            _list_unjudged(db, changed_from)
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


def _list_unjudged(db: Database, changed: ChangedFrom) -> None:
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


def _scope(db: Database, after_file: int, relinked: list[str]) -> None:
    """The legs and visits to rebuild: those of the new files, and the calls of their callers from
    the start of the earliest new call on (`_scope_requesters.rebuild_from`), moved back over any
    contact of theirs still going on then, so no contact is rebuilt from part of its calls; and
    all calls and visits of the `relinked` pseudonyms."""
    con = db.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope_calls AS SELECT DISTINCT call_ref FROM call_legs WHERE file_id > $after",
        {"after": after_file},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope_relinked AS SELECT unnest(CAST($relinked AS VARCHAR[])) AS key",
        {"relinked": relinked},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _scope_aliases AS
        WITH own AS (SELECT number_key FROM departments WHERE number_key IS NOT NULL),
        -- A visit is a contact of its own, merged with nothing: only new calls (and changed links)
        -- rebuild a requester's calls.
        keys AS (
            SELECT DISTINCT caller_key AS k FROM call_legs WHERE file_id > $after AND caller_key IS NOT NULL
            UNION SELECT key FROM _scope_relinked
        ),
        requesters AS (
            SELECT DISTINCT coalesce(l.requester_key, keys.k) AS requester_key
            FROM keys LEFT JOIN requester_links l ON l.alias_key = keys.k
            WHERE keys.k NOT IN (SELECT number_key FROM own)
        )
        -- every pseudonym that stands for an affected requester: the requester's own and its aliases
        SELECT requester_key, requester_key AS alias_key FROM requesters
        UNION SELECT requester_key, alias_key FROM requester_links SEMI JOIN requesters USING (requester_key)
        """,
        {"after": after_file},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _scope_requesters AS
        WITH new_calls AS (  -- every leg of a call with a new leg, and when the call started
            SELECT caller_key, min(started_at) OVER (PARTITION BY call_ref) AS call_start
            FROM call_legs SEMI JOIN _scope_calls USING (call_ref)
        )
        SELECT requester_key, min(rebuild_from) AS rebuild_from FROM (
            SELECT a.requester_key, n.call_start AS rebuild_from
            FROM new_calls n JOIN _scope_aliases a ON a.alias_key = n.caller_key
            -- relinked: from the start, under the keys their stored contacts have and those they get
            UNION ALL SELECT key, TIMESTAMPTZ '-infinity' FROM _scope_relinked
        ) GROUP BY requester_key
        """
    )
    contacts_spans = (
        "SELECT requester_key, started_at, coalesce(ended_at, started_at) AS ended_at FROM contacts "
        "WHERE requester_key IS NOT NULL AND channel = 'call'"
    )
    extend_back_over(con, "_scope_requesters", "requester_key", "rebuild_from", contacts_spans)
    # Every leg of those calls, as a call's later legs may show another caller (a transfer, a <Dial> leg).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _scope_call_refs AS
        SELECT DISTINCT l.call_ref FROM call_legs l
        JOIN _scope_aliases a ON a.alias_key = l.caller_key
        JOIN _scope_requesters r ON r.requester_key = a.requester_key AND l.started_at >= r.rebuild_from
        UNION SELECT call_ref FROM _scope_calls
    """)
    # Held, not a view: the build reads them twice, and _write_differences their earliest start.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope_legs AS "
        "SELECT * FROM call_legs SEMI JOIN _scope_call_refs USING (call_ref)"
    )
    # (Most nights relink nobody: then no need to read a year of visits' keys, 0.05 s at 10M.)
    relinked_visits = (
        """UNION SELECT visit_id FROM visit_records
        WHERE phone_key IN (SELECT key FROM _scope_relinked) OR ref_key IN (SELECT key FROM _scope_relinked)"""
        if relinked
        else ""
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _scope_visits AS "
        f"SELECT visit_id FROM visits WHERE file_id > $after {relinked_visits}",
        {"after": after_file},
    )
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _scope_visit_rows AS
        SELECT * FROM visits WHERE visit_id IN (SELECT visit_id FROM _scope_visits)
    """)


# A call's caller as a requester: only an external number is one.
_REQUESTER_CALLER = "CASE WHEN effective_class = 'external' THEN caller_key END"


def _call_contact_steps(legs: str) -> list[str]:
    """The temp tables from `legs` (call_legs, or the legs in scope) to calls ready to be contacts.

    Most calls are one leg and overlap nothing: they become contacts directly. Only calls of
    several legs, and calls of one requester that overlap, go through the interval arithmetic.
    """
    return [
        f"""
CREATE OR REPLACE TEMP TABLE _leg AS
-- Dialled numbers are extensions (digits) or pseudonyms of full numbers; departments map both.
WITH reach AS (
    SELECT number AS dialled, department FROM departments WHERE number_key IS NULL
    UNION ALL SELECT number_key, department FROM departments WHERE number_key IS NOT NULL
), own AS (SELECT number_key FROM departments WHERE number_key IS NOT NULL)
SELECT l.call_ref, l.file_id, l.line, l.leg_sequence, l.caller_key, l.direction_hint,
       l.started_at, l.answered_at, l.ended_at, l.answered,
       -- the number dialled is outside the ward: a resident's, not a DID or extension of ours
       coalesce(l.dialled_class = 'number' AND l.dialled NOT IN (SELECT number_key FROM own), FALSE) AS dialled_outside,
       NOT regexp_full_match(l.call_ref, 'f[0-9a-f]+:line[0-9]+') AS has_call_id,
       CASE
           WHEN l.caller_class = 'external' AND l.caller_key IN (SELECT number_key FROM own) THEN 'internal'
           WHEN l.direction_hint = 'outbound' THEN 'internal'
           ELSE l.caller_class
       END AS effective_class,
       reach.department AS dialled_department,
       l.outcome,  -- decided on ingest: answered (a person talked), machine, dropped, busy, no_answer, failed
       -- a record without a uniqueid is named by its file's content hash and line: stable across runs
       coalesce(l.uniqueid, 'f' || substr(i.sha256, 1, 12) || ':' || l.line) AS source_id
FROM {legs} l
JOIN ingest_log i USING (file_id)
LEFT JOIN reach ON reach.dialled = l.dialled
-- A record delivered again with changes (a later version of it) replaces the earlier delivery.
ANTI JOIN (SELECT call_ref, uniqueid, max(record_version) AS latest FROM {legs} WHERE record_version IS NOT NULL
           GROUP BY call_ref, uniqueid) v
    ON v.call_ref = l.call_ref AND v.uniqueid = l.uniqueid AND l.record_version < v.latest
""",
        """
CREATE OR REPLACE TEMP TABLE _multi_leg_call AS
SELECT call_ref FROM _leg GROUP BY call_ref HAVING count(*) > 1
""",
        # A call (unit): who called, which way, and when; its first leg decides the caller.
        f"""
CREATE OR REPLACE TEMP TABLE _unit AS
WITH single AS (
    SELECT call_ref, effective_class AS caller_class,
           {_REQUESTER_CALLER} AS caller_key,
           dialled_outside AS first_dialled_outside, has_call_id, direction_hint, started_at, ended_at, 1 AS legs,
           -- A one-leg call carries what its contact needs, so it is not joined back to _leg.
           dialled_department, answered, answered_at, outcome, source_id
    FROM _leg ANTI JOIN _multi_leg_call USING (call_ref)
), multi AS (
    SELECT call_ref,
           arg_min(effective_class, (started_at, leg_sequence, line)),
           -- the first leg's caller even when it has no key: arg_min alone would skip to a later leg's
           arg_min(struct_pack(k := {_REQUESTER_CALLER}),
                   (started_at, leg_sequence, line)).k,
           arg_min(dialled_outside, (started_at, leg_sequence, line)),
           bool_or(has_call_id),
           arg_min(struct_pack(h := direction_hint), (started_at, leg_sequence, line)).h,
           min(started_at), max(ended_at), count(*),
           NULL, NULL, NULL, NULL, NULL
    FROM _leg SEMI JOIN _multi_leg_call USING (call_ref)
    GROUP BY call_ref
), units AS (SELECT * FROM single UNION ALL SELECT * FROM multi)
SELECT u.*, coalesce(link.requester_key, u.caller_key) AS requester_key,
       CASE
           WHEN u.direction_hint IN ('inbound', 'outbound', 'internal') THEN u.direction_hint
           -- staff, or a device that is no number (a softphone), calling a number outside the ward
           WHEN u.caller_class IN ('internal', 'unusable') AND u.first_dialled_outside THEN 'outbound'
           WHEN u.caller_class = 'internal' THEN 'internal'
           ELSE 'inbound'
       END AS direction
FROM units u LEFT JOIN requester_links link ON link.alias_key = u.caller_key
""",
        # Records without call ids (16-column Asterisk, exports without a call number) that overlap
        # in time for one requester, or follow each other to the second (a transfer written as two
        # records), are one contact. Calls with ids are grouped by their ids alone.
        """
CREATE OR REPLACE TEMP TABLE _unit_order AS
WITH windowed AS (
    SELECT call_ref, requester_key, started_at, ended_at,
           max(ended_at) OVER w_before AS previous_end,
           lead(started_at) OVER w AS next_start,
           max(ended_at) OVER w_upto AS running_end
    FROM _unit WHERE requester_key IS NOT NULL AND NOT has_call_id
    WINDOW w AS (PARTITION BY requester_key ORDER BY started_at, call_ref),
           w_before AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           w_upto AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), merging AS (
    SELECT * FROM windowed WHERE started_at <= previous_end OR next_start <= running_end
), islands AS (
    SELECT *, sum(CASE WHEN started_at <= previous_end THEN 0 ELSE 1 END)
                  OVER (PARTITION BY requester_key ORDER BY started_at, call_ref) AS island
    FROM merging
)
SELECT call_ref,
       first_value(call_ref) OVER (PARTITION BY requester_key, island ORDER BY started_at, call_ref) AS contact_ref
FROM islands
""",
    ]


def _seconds(expr: str) -> str:
    """Whole seconds as INTEGER, saturating: no stored record can make a rebuild fail on a cast."""
    return f"CAST(least(greatest({expr}, -2147483648), 2147483647) AS INTEGER)"


def _simple_contacts_sql() -> str:
    """One-leg calls that overlap nothing of their requester's: a contact each, as they are."""
    return f"""
SELECT 'call:' || u.call_ref AS contact_id, 'call' AS channel, u.requester_key, u.caller_class, u.direction,
       u.dialled_department AS department, 'unknown' AS kind, NULL AS topic,
       u.started_at, CASE WHEN u.answered THEN u.answered_at END AS answered_at, u.ended_at,
       CASE WHEN u.answered THEN {_seconds("epoch(u.ended_at) - epoch(u.answered_at)")} ELSE 0 END AS talk_s,
       {_seconds("epoch(u.ended_at) - epoch(u.started_at)")} AS span_s,
       u.answered, u.outcome, 1 AS legs, [u.source_id] AS source_ids, NULL AS exit_requested_at
FROM _unit u ANTI JOIN _unit_order m USING (call_ref)
WHERE u.legs = 1
"""


def _merged_contacts_sql() -> str:
    """Calls of several legs, and calls merged by time: the interval arithmetic."""
    return f"""
WITH legs AS (
    SELECT l.*, coalesce(m.contact_ref, u.call_ref) AS contact_ref,
           u.requester_key, u.caller_class AS unit_class, u.direction, u.started_at AS unit_start
    FROM _leg l JOIN _unit u USING (call_ref) LEFT JOIN _unit_order m USING (call_ref)
    WHERE u.legs > 1 OR m.call_ref IS NOT NULL
), talk_intervals AS (
    SELECT contact_ref, answered_at AS s, ended_at AS e,
           max(ended_at) OVER (PARTITION BY contact_ref ORDER BY answered_at, ended_at
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM legs WHERE answered AND answered_at IS NOT NULL
), talk_islands AS (
    SELECT *, sum(CASE WHEN previous_end IS NOT NULL AND s <= previous_end THEN 0 ELSE 1 END)
                  OVER (PARTITION BY contact_ref ORDER BY s, e) AS island
    FROM talk_intervals
), talk AS (
    SELECT contact_ref, sum(seconds) AS talk_s FROM (
        SELECT contact_ref, island, epoch(max(e)) - epoch(min(s)) AS seconds FROM talk_islands GROUP BY ALL
    ) GROUP BY contact_ref
)
SELECT 'call:' || contact_ref AS contact_id,
       'call' AS channel,
       any_value(requester_key) AS requester_key,
       arg_min(unit_class, (unit_start, call_ref)) AS caller_class,
       arg_min(direction, (unit_start, call_ref)) AS direction,
       -- struct_pack keeps an unmapped (NULL) department: arg_max would skip it for an earlier one
       CASE WHEN bool_or(answered)
            THEN arg_max(struct_pack(d := dialled_department), (ended_at, line)) FILTER (WHERE answered)
            ELSE arg_max(struct_pack(d := dialled_department), (ended_at, line)) END.d AS department,
       'unknown' AS kind,
       NULL AS topic,
       min(started_at) AS started_at,
       min(answered_at) FILTER (WHERE answered) AS answered_at,
       max(ended_at) AS ended_at,
       CAST(coalesce(any_value(t.talk_s), 0) AS INTEGER) AS talk_s,
       {_seconds("epoch(max(ended_at)) - epoch(min(started_at))")} AS span_s,
       bool_or(answered) AS answered,
       arg_min(outcome, {_OUTCOME_RANK}) AS outcome,
       count(*) AS legs,
       list_sort(list_distinct(list(source_id))) AS source_ids,
       NULL AS exit_requested_at
FROM legs LEFT JOIN talk t USING (contact_ref)
GROUP BY contact_ref
"""


def _visit_contacts_sql(visits: str) -> str:
    """Visits (all, or those in scope) as contacts: a visit's talk time is its arrival to end."""
    return f"""
SELECT 'visit:' || v.visit_id AS contact_id,
       'visit' AS channel,
       v.requester_key,
       CASE WHEN v.requester_source = 'phone' THEN 'external'
            WHEN v.requester_source = 'ref' THEN 'ref'
            ELSE coalesce(v.phone_class, 'none') END AS caller_class,
       'visit' AS direction,
       v.department,
       v.kind,
       v.topic,
       v.arrived_at AS started_at,
       v.arrived_at AS answered_at,
       v.ended_at,
       coalesce(v.duration_s, 0) AS talk_s,
       coalesce(v.duration_s, 0) AS span_s,
       TRUE AS answered,
       'visit' AS outcome,
       1 AS legs,
       [v.visit_id] AS source_ids,
       v.exit_requested_at
FROM {visits} v
"""
