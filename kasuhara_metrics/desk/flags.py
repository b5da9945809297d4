"""The flags of the latest judge run as analysts list them: filtered, with their review status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..common.db import Database
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
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Flags of the latest judge run, newest last, filtered as asked, with their review status.

    `week` keeps the flags whose episode overlaps it, as the weekly report does.
    """
    conditions: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if week is not None:
        conditions.append(week_flags_sql())
        params |= week_params(week)
    if needs_review:
        conditions.append("needs_review")
    if since is not None:
        conditions.append("last_at >= timezone(current_setting('TimeZone'), CAST($since AS TIMESTAMP))")
        params["since"] = since
    for column, value in (("category", category), ("severity", severity), ("rule_id", rule_id)):
        if value:
            conditions.append(f"{column} = ${column}")
            params[column] = value
    cursor = db.con.execute(
        f"""SELECT flag_id, requester_key AS requester, category, behaviour, rule_id, severity, first_at, last_at,
                   round(value, 1) AS value, threshold, unit, group_key, detail, evidence, review_status, needs_review
            FROM flags WHERE {" AND ".join(conditions)} ORDER BY first_at, flag_id""",
        params,
    )
    return [d[0] for d in cursor.description], cursor.fetchall()


def week_flags_sql(alias: str = "") -> str:
    """Flags (of the table `alias`, if given) whose episode overlaps the week: `week_params` binds it."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}first_at < $week_end AND {prefix}last_at >= $week_start"


def week_params(week: Week) -> dict[str, datetime]:
    return {"week_start": week.start, "week_end": week.end}
