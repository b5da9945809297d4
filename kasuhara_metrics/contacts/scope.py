"""What an incremental build rebuilds: the legs and visits that new files can change the contacts of."""

from __future__ import annotations

from ..common.db import Database
from ..common.duckutil import extend_back_over


def scope_records(db: Database, after_file: int, relinked: list[str]) -> None:
    """The legs and visits to rebuild: those of the new files, and the calls of their callers from
    the start of the earliest new call on (`_scope_requesters.rebuild_from`), moved back over any
    contact of theirs still going on then, so no contact is rebuilt from part of its calls; and
    all calls and visits of the `relinked` pseudonyms.

    Leaves temp tables for build.py: `_scope_legs` and `_scope_visit_rows` (what to build from),
    `_scope_requesters`, `_scope_call_refs` and `_scope_visits` (which stored contacts they replace)."""
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
    # Held, not a view: the build reads them twice, and build._write_differences their earliest start.
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
