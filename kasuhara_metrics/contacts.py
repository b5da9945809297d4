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

import pyarrow as pa

from .db import Database, drop_temp_tables, unregister_all
from .site import SiteSettings

# A contact's outcome is its best leg's: answered > machine > dropped > busy > no_answer > failed.
_OUTCOME_RANK = (
    "CASE outcome WHEN 'answered' THEN 0 WHEN 'machine' THEN 1 WHEN 'dropped' THEN 2 WHEN 'busy' THEN 3 "
    "WHEN 'no_answer' THEN 4 ELSE 5 END"
)


def rebuild_requester_links(db: Database) -> int:
    """Join pseudonyms seen together on one visit (phone and requester_ref) into one requester."""
    pairs = db.con.execute(
        "SELECT DISTINCT phone_key, ref_key FROM visit_records WHERE phone_key IS NOT NULL AND ref_key IS NOT NULL"
    ).fetchall()
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
        db.con.register("_links", pa.table({"alias_key": aliases, "requester_key": targets}))
        db.con.execute("INSERT INTO requester_links SELECT alias_key, requester_key FROM _links")
        db.con.unregister("_links")
    return len(aliases)


def rebuild(db: Database, site: SiteSettings) -> int:
    """Recompute `contacts` from the stored legs and visits; returns the number of contacts."""
    con = db.con
    rebuild_requester_links(db)
    con.register("_internal_contexts", pa.table({"context": pa.array(list(site.internal_contexts), pa.string())}))
    con.register("_machine_apps", pa.table({"app": pa.array(list(site.machine_apps), pa.string())}))
    try:
        con.execute(_LEGS_SQL)
        con.execute(_UNITS_SQL)
        con.execute("DELETE FROM contacts")
        con.execute(_CALL_CONTACTS_SQL)
        con.execute(_VISIT_CONTACTS_SQL)
    finally:
        unregister_all(con, "_internal_contexts", "_machine_apps")
        drop_temp_tables(con, "_leg", "_unit")
    return con.execute("SELECT count(*) FROM contacts").fetchall()[0][0]


_LEGS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _leg AS
WITH own AS (SELECT number_key FROM departments WHERE number_key IS NOT NULL)
SELECT l.*,
       CASE
           WHEN l.caller_class = 'external' AND l.caller_key IN (SELECT number_key FROM own) THEN 'internal'
           WHEN l.direction_hint = 'outbound' THEN 'internal'
           WHEN l.caller_class = 'external' AND l.dcontext IN (SELECT context FROM _internal_contexts) THEN 'internal'
           ELSE l.caller_class
       END AS effective_class,
       dep.department AS dialled_department,
       CASE
           WHEN l.answered THEN 'answered'
           WHEN l.disposition = 'ANSWERED' AND l.lastapp IN (SELECT app FROM _machine_apps) THEN 'machine'
           WHEN l.disposition = 'ANSWERED' THEN 'dropped'     -- answered, but not one second of talk
           WHEN l.disposition = 'BUSY' THEN 'busy'
           WHEN l.disposition = 'NO ANSWER' THEN 'no_answer'
           WHEN l.disposition IS NULL THEN 'no_answer'
           ELSE 'failed'
       END AS outcome,
       coalesce(l.uniqueid, 'f' || l.file_id || ':' || l.line) AS source_id
FROM call_legs l
LEFT JOIN departments dep ON dep.number = l.dialled
"""

_UNITS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _unit AS
WITH units AS (
    SELECT call_ref,
           arg_min(effective_class, (started_at, leg_sequence, line)) AS caller_class,
           arg_min(CASE WHEN effective_class = 'external' THEN caller_key END, (started_at, leg_sequence, line)) AS caller_key,
           arg_min(dialled_class, (started_at, leg_sequence, line)) AS first_dialled_class,
           arg_min(direction_hint, (started_at, leg_sequence, line)) AS direction_hint,
           min(started_at) AS started_at,
           max(ended_at) AS ended_at
    FROM _leg GROUP BY call_ref
), resolved AS (
    SELECT u.*, coalesce(link.requester_key, u.caller_key) AS requester_key,
           CASE
               WHEN u.direction_hint IN ('inbound', 'outbound', 'internal') THEN u.direction_hint
               WHEN u.caller_class <> 'internal' THEN 'inbound'
               WHEN u.first_dialled_class = 'external' THEN 'outbound'
               ELSE 'internal'
           END AS direction
    FROM units u LEFT JOIN requester_links link ON link.alias_key = u.caller_key
), ordered AS (
    SELECT *, max(ended_at) OVER (
                  PARTITION BY requester_key ORDER BY started_at, call_ref
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM resolved
), islands AS (
    SELECT *, sum(CASE WHEN previous_end IS NOT NULL AND started_at <= previous_end THEN 0 ELSE 1 END) OVER (
                  PARTITION BY requester_key ORDER BY started_at, call_ref) AS island
    FROM ordered
)
SELECT *,
       -- Overlapping calls of one requester are one contact; calls of nobody are never merged.
       CASE WHEN requester_key IS NULL THEN call_ref ELSE requester_key || '#' || island END AS contact_group,
       CASE WHEN requester_key IS NULL THEN call_ref
            ELSE first_value(call_ref) OVER (PARTITION BY requester_key, island ORDER BY started_at, call_ref) END AS contact_ref
FROM islands
"""

_CALL_CONTACTS_SQL = f"""
INSERT INTO contacts
WITH legs AS (
    SELECT l.*, u.contact_group, u.contact_ref, u.requester_key, u.caller_class AS unit_class, u.direction,
           u.started_at AS unit_start
    FROM _leg l JOIN _unit u USING (call_ref)
), talk_intervals AS (
    SELECT contact_group, answered_at AS s, ended_at AS e,
           max(ended_at) OVER (PARTITION BY contact_group ORDER BY answered_at, ended_at
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM legs WHERE answered AND answered_at IS NOT NULL
), talk_islands AS (
    SELECT *, sum(CASE WHEN previous_end IS NOT NULL AND s <= previous_end THEN 0 ELSE 1 END)
                  OVER (PARTITION BY contact_group ORDER BY s, e) AS island
    FROM talk_intervals
), talk AS (
    SELECT contact_group, sum(seconds) AS talk_s FROM (
        SELECT contact_group, island, epoch(max(e)) - epoch(min(s)) AS seconds FROM talk_islands GROUP BY ALL
    ) GROUP BY contact_group
)
SELECT 'call:' || any_value(contact_ref),
       'call',
       any_value(requester_key),
       arg_min(unit_class, (unit_start, call_ref)),
       arg_min(direction, (unit_start, call_ref)),
       coalesce(
           arg_max(dialled_department, (ended_at, line)) FILTER (WHERE answered),
           arg_max(dialled_department, (ended_at, line))
       ),
       'unknown',
       NULL,
       min(started_at),
       min(answered_at) FILTER (WHERE answered),
       max(ended_at),
       CAST(coalesce(any_value(t.talk_s), 0) AS INTEGER),
       CAST(epoch(max(ended_at)) - epoch(min(started_at)) AS INTEGER),
       bool_or(answered),
       arg_min(outcome, {_OUTCOME_RANK}),
       count(*),
       list_sort(list_distinct(list(source_id))),
       NULL
FROM legs LEFT JOIN talk t USING (contact_group)
GROUP BY contact_group
"""

_VISIT_CONTACTS_SQL = """
INSERT INTO contacts
SELECT 'visit:' || v.visit_id,
       'visit',
       v.requester_key,
       CASE WHEN v.requester_key IS NULL THEN coalesce(v.phone_class, 'none')
            WHEN r.phone_key IS NOT NULL THEN 'external'
            ELSE 'ref' END,
       'visit',
       v.department,
       v.kind,
       v.topic,
       v.arrived_at,
       v.arrived_at,
       v.ended_at,
       coalesce(v.duration_s, 0),
       coalesce(v.duration_s, 0),
       TRUE,
       'visit',
       1,
       [v.visit_id],
       v.exit_requested_at
FROM visits v JOIN visit_records r USING (file_id, line)
"""
