"""The SQL that makes contacts of legs and visits: calls of one leg as they are, calls of several
legs and calls merged by time through the interval arithmetic, visits one contact each."""

from __future__ import annotations

# A contact's outcome is its best leg's: answered > machine > dropped > busy > no_answer > failed.
_OUTCOME_RANK = (
    "CASE outcome WHEN 'answered' THEN 0 WHEN 'machine' THEN 1 WHEN 'dropped' THEN 2 WHEN 'busy' THEN 3 "
    "WHEN 'no_answer' THEN 4 ELSE 5 END"
)


# A call's caller as a requester: only an external number is one.
_REQUESTER_CALLER = "CASE WHEN effective_class = 'external' THEN caller_key END"


def call_contact_steps(legs: str) -> list[str]:
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


def simple_contacts_sql() -> str:
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


def merged_contacts_sql() -> str:
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


def visit_contacts_sql(visits: str) -> str:
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
