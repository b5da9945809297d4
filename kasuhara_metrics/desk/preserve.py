"""The nightly preservation list: the recordings a site must keep past its auto-deletion.

Every call behind an open or confirmed flag (any review status but 該当なし / dismissed) that started
on or after a day: one row per CDR leg, with its uniqueid and linkedid, the names most PBXs give a
call's recording. A dismissed flag's calls are listed again only if another open flag holds them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..common.db import Database
from ..common.sqltext import site_day_start_sql


def leg_of_record_sql(leg: str, record: str) -> str:
    """Join condition: the stored call leg `leg` (of `calls`) behind a contact's record id, in `record`
    (columns source_id, started_at, ended_at). A uniqueid is unique on its PBX only, so the leg must
    also lie within a day of the contact."""
    return (
        f"{leg}.uniqueid = {record}.source_id AND {leg}.started_at BETWEEN {record}.started_at - INTERVAL 1 DAY "
        f"AND coalesce({record}.ended_at, {record}.started_at) + INTERVAL 1 DAY"
    )


def preservation_list(db: Database, since: date) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = db.con.execute(
        f"""
        WITH kept AS (
            SELECT e.contact_id, e.started_at, e.ended_at, e.department, unnest(e.source_ids) AS source_id,
                   f.flag_id, f.review_status
            FROM flag_evidence e JOIN flags f USING (flag_id)
            WHERE e.channel = 'call' AND f.review_status <> 'dismissed'
              AND e.started_at >= {site_day_start_sql("since")}
        )
        SELECT k.source_id AS uniqueid, any_value(c.linkedid) AS linkedid, min(k.started_at) AS started_at,
               any_value(k.department) AS department, any_value(k.contact_id) AS contact_id,
               list(DISTINCT k.flag_id ORDER BY k.flag_id) AS flags,
               list(DISTINCT k.review_status ORDER BY k.review_status) AS review_statuses
        FROM kept k
        LEFT JOIN calls c ON {leg_of_record_sql("c", "k")}
        GROUP BY k.source_id ORDER BY started_at, uniqueid
        """,
        {"since": since},
    )
    return [d[0] for d in cursor.description], cursor.fetchall()
