"""The flags of the latest judge run as analysts list them: filtered, with their review status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..common.db import Database
from ..common.sqltext import site_day_start_sql
from .weeks import Week


def list_flags(
    db: Database,
    *,
    since: date | None = None,
    category: str | None = None,
    severity: str | None = None,
    rule_id: str | None = None,
    needs_review: bool = False,
    week: Week | None = None,
    wide: bool = True,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Flags of the latest judge run, newest last, filtered as asked, with their review status.

    `week` keeps the flags whose episode overlaps it, as the weekly report does. `wide=False` gives
    the desk's compact columns (`COMPACT_COLUMNS`): what a reviewer reads first, ids whole.
    """
    conditions: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if week is not None:
        conditions.append(week_flags_sql())
        params |= week_params(week)
    if needs_review:
        conditions.append("needs_review")
    if since is not None:
        conditions.append(f"last_at >= {site_day_start_sql('since')}")
        params["since"] = since
    for column, value in (("category", category), ("severity", severity), ("rule_id", rule_id)):
        if value:
            conditions.append(f"{column} = ${column}")
            params[column] = value
    cursor = db.con.execute(
        f"""SELECT {_WIDE if wide else _COMPACT}
            FROM flags WHERE {" AND ".join(conditions)} ORDER BY first_at, flag_id""",
        params,
    )
    return [d[0] for d in cursor.description], cursor.fetchall()


_WIDE = """flag_id, requester_key AS requester, category, behaviour, rule_id, severity, first_at, last_at,
           round(value, 1) AS value, threshold, unit, group_key, threshold_override, detail, evidence,
           profile_name || ' ' || profile_version AS profile, review_status, needs_review"""

# Days in the session's zone (the site's); one day when the episode starts and ends on it. A review
# made before the episode grew is marked, since the flag needs another look.
_COMPACT = """flag_id AS flag, requester_key AS requester, behaviour,
           severity AS level,
           CASE WHEN CAST(first_at AS DATE) = CAST(last_at AS DATE) THEN CAST(CAST(first_at AS DATE) AS VARCHAR)
                ELSE CAST(first_at AS DATE) || ' – ' || CAST(last_at AS DATE) END AS period,
           regexp_replace(CAST(round(value, 1) AS VARCHAR), '\\.0$', '') || ' / '
               || regexp_replace(CAST(threshold AS VARCHAR), '\\.0$', '') || ' ' || unit AS "value / threshold",
           review_status || CASE WHEN needs_review AND review_status <> 'unreviewed' THEN ' (grown)' ELSE '' END
               AS review"""

COMPACT_COLUMNS = ("flag", "requester", "behaviour", "level", "period", "value / threshold", "review")


def week_flags_sql(alias: str = "") -> str:
    """Flags (of the table `alias`, if given) whose episode overlaps the week: `week_params` binds it."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}first_at < $week_end AND {prefix}last_at >= $week_start"


def week_params(week: Week) -> dict[str, datetime]:
    return {"week_start": week.start, "week_end": week.end}
