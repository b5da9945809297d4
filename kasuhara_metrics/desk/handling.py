"""延べ対応時間: what a requester's contacts cost the ward in staff time, per requester and department.

Handling time is a call's talk time (answered intervals only) and a visit's time from arrival to end.
Staff-hours count one member of staff per contact: the logs do not say how many attended. With
`staff_hourly_cost` in the site settings, a staff cost (yen) is the staff-hours times that cost, the
account 大阪市 (370 responses, 295 hours for one man) and 静岡市 (4,343 hours) made by hand.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..common.db import Database
from ..common.duckutil import fetch_dicts
from ..common.sqltext import site_day_start_sql


def handling_totals(
    db: Database,
    *,
    requester_key: str | None = None,
    requester_keys: list[str] | None = None,
    since: date | None = None,
    hourly_cost: int | None = None,
    by_department: bool = False,
) -> list[dict[str, Any]]:
    """Contacts, calls, visits, handling minutes, staff-hours and (with `hourly_cost`) staff cost, per
    requester (and department), of one requester, of `requester_keys`, or of every requester; `since` is a
    day in site time."""
    group = "requester_key, coalesce(department, '(不明)')" if by_department else "requester_key"
    return fetch_dicts(
        db.con,
        f"""
        SELECT requester_key{", coalesce(department, '(不明)') AS department" if by_department else ""},
               count(*) AS contacts, count(*) FILTER (WHERE channel = 'call') AS calls,
               count(*) FILTER (WHERE channel = 'visit') AS visits,
               round(sum(talk_s) / 60.0, 1) AS handling_minutes, round(sum(talk_s) / 3600.0, 2) AS staff_hours,
               CAST(round(sum(talk_s) * $cost / 3600.0) AS BIGINT) AS staff_cost_yen
        FROM contacts
        WHERE requester_key IS NOT NULL AND ($key IS NULL OR requester_key = $key)
          AND ($keys IS NULL OR requester_key IN (SELECT unnest($keys)))
          AND ($since IS NULL OR started_at >= {site_day_start_sql("since")})
        GROUP BY {group} ORDER BY handling_minutes DESC, {group}
    """,
        {"key": requester_key, "keys": requester_keys, "since": since, "cost": hourly_cost},
    )
