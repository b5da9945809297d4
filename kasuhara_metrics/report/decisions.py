"""What a manager decides this week, and what data the week rests on.

Decisions: the week's new flags and every alert flag, worst first, then new before ongoing, then the
most handling time. Ongoing watch flags are counted by behaviour only: they were decided on before.
Coverage: the week's contacts per source and day, so that a day or a week with no data is never
read as a quiet one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..common.db import Database
from ..common.duckutil import fetch_dicts
from ..common.levels import WORST_SEVERITY, category_rank_sql, severity_rank_sql
from ..desk.flags import week_flags_sql, week_params
from ..desk.weeks import Week

# The page lists this many decisions; the workbook lists them all.
DECISIONS_ON_PAGE = 30
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")
CHANNELS_JA = {"call": "電話", "visit": "来庁"}
# What the page says of the contacts behind a flag or a person: over rows of flag_evidence.
EVIDENCE_TOTALS_SQL = """count(*) AS contacts, count(*) FILTER (WHERE channel = 'call') AS calls,
    count(*) FILTER (WHERE channel = 'visit') AS visits, count(DISTINCT department) AS departments,
    CAST(round(sum(talk_s) / 60.0) AS INTEGER) AS minutes"""


def decision_flags(db: Database, week: Week) -> list[dict[str, Any]]:
    """The week's new flags and all its alert flags, in the order to decide them, each with the
    contacts behind it (count, calls, visits, departments, handling minutes)."""
    return fetch_dicts(
        db.con,
        f"""
        WITH week_flags AS (
            SELECT * FROM flags WHERE ({week_flags_sql()}) AND (first_at >= $week_start OR severity = $worst)
        ), evidence AS (
            SELECT flag_id, {EVIDENCE_TOTALS_SQL}
            FROM flag_evidence WHERE flag_id IN (SELECT flag_id FROM week_flags) GROUP BY flag_id
        )
        SELECT f.flag_id, f.requester_key, f.rule_id, f.category, f.behaviour, f.severity, f.first_at, f.last_at,
               f.value, f.threshold, f.unit, f.group_key, f.threshold_override, f.review_status, f.needs_review,
               f.first_at >= $week_start AS is_new, coalesce(e.contacts, 0) AS contacts,
               coalesce(e.calls, 0) AS calls, coalesce(e.visits, 0) AS visits,
               coalesce(e.departments, 0) AS departments, coalesce(e.minutes, 0) AS minutes
        FROM week_flags f LEFT JOIN evidence e USING (flag_id)
        ORDER BY {severity_rank_sql("f.severity")} DESC, is_new DESC, minutes DESC, f.first_at, f.flag_id
    """,
        week_params(week) | {"worst": WORST_SEVERITY},
    )


def ongoing_watch(db: Database, week: Week) -> list[dict[str, Any]]:
    """Flags below alert that started before the week and went on into it, counted by behaviour."""
    return fetch_dicts(
        db.con,
        f"""
        SELECT category, behaviour, count(*) AS flags, count(DISTINCT requester_key) AS requesters,
               count(*) FILTER (WHERE needs_review) AS needs_review
        FROM flags
        WHERE ({week_flags_sql()}) AND first_at < $week_start AND severity <> $worst
        GROUP BY category, behaviour ORDER BY {category_rank_sql("category")}, count(*) DESC, behaviour
    """,
        week_params(week) | {"worst": WORST_SEVERITY},
    )


def coverage(db: Database, week: Week) -> list[dict[str, Any]]:
    """One row per source (電話, 来庁) with the week's contacts on each day, Monday first: 0 is a day
    with no data from that source."""
    counts = {
        (channel, day): contacts
        for channel, day, contacts in db.con.execute(
            """SELECT channel, CAST(started_at AS DATE), count(*) FROM contacts
               WHERE started_at >= $week_start AND started_at < $week_end GROUP BY ALL""",
            week_params(week),
        ).fetchall()
    }
    days = [week.monday + timedelta(days=n) for n in range(7)]
    return [
        {"source": label, "days": [counts.get((channel, day), 0) for day in days]}
        for channel, label in CHANNELS_JA.items()
    ]


def weekday_labels(week: Week) -> list[str]:
    return [f"{(week.monday + timedelta(days=n)).strftime('%m/%d')}（{WEEKDAYS_JA[n]}）" for n in range(7)]
