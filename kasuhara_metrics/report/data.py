"""What the weekly report shows, read from the database: counts and pseudonyms, nothing personal.

A week's flags are those whose episode overlaps the week: new (the episode started in the week)
and ongoing (it started earlier and went on into the week). `kasuhara flags --week` lists the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from ..common.calendar import closed_days
from ..common.db import Database
from ..common.duckutil import fetch_dicts
from ..common.levels import (
    CATEGORIES,
    SEVERITY_LABELS,
    WORST_SEVERITY,
    category_rank_sql,
    severity_rank,
    severity_rank_sql,
    worst_severity,
)
from ..desk.analytics import unusable_callers
from ..desk.flags import week_flags_sql, week_params
from ..desk.handling import handling_totals
from ..desk.reviews import STATUS_LABELS
from ..desk.weeks import Week
from ..judge import last_run
from ..rules import RULE_KINDS, Profile, Rule
from .decisions import EVIDENCE_TOTALS_SQL, coverage, decision_flags, ongoing_watch

# A flag of a rule no longer in the profile still has a unit: every kind's, in Japanese.
UNITS_JA = {kind.unit: kind.unit_ja for kind in RULE_KINDS.values()}


@dataclass
class WeeklyData:
    week: Week
    profile: Profile
    generated_at: datetime
    judged_at: datetime | None
    judged_profile: str | None
    totals: dict[str, int] = field(default_factory=dict)
    by_behaviour: list[dict[str, Any]] = field(default_factory=list)
    by_department: list[dict[str, Any]] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    requesters: list[dict[str, Any]] = field(default_factory=list)
    # Per source file: the week's calls whose caller is not a valid number (never judged).
    unusable: list[dict[str, Any]] = field(default_factory=list)
    # This week's decisions (report/decisions.py): all of them; the page shows the first DECISIONS_ON_PAGE.
    decisions: list[dict[str, Any]] = field(default_factory=list)
    ongoing_watch: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    # The week's closed days (0 = Monday) and why, from the site's business calendar.
    closed: dict[int, str] = field(default_factory=dict)
    # 延べ対応時間 of the week's flagged requesters, over their whole history, per department.
    handling: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        """Whether any contact of the week was ingested: without, "no flags" would mean nothing."""
        return any(sum(row["days"]) for row in self.coverage)


def _rows(db: Database, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return fetch_dicts(db.con, sql, params)


def weekly_data(db: Database, profile: Profile, week: Week, now: datetime) -> WeeklyData:
    params = week_params(week)
    run = last_run(db)
    data = WeeklyData(
        week,
        profile,
        now,
        run.finished_at if run else None,
        f"{run.profile_name} {run.profile_version}" if run else None,
    )
    data.totals = _rows(
        db,
        f"""
        SELECT count(*) AS flags,
               count(*) FILTER (WHERE first_at >= $week_start) AS new,
               count(*) FILTER (WHERE first_at < $week_start) AS ongoing,
               count(*) FILTER (WHERE severity = $worst) AS {WORST_SEVERITY},
               count(DISTINCT requester_key) AS requesters,
               count(*) FILTER (WHERE review_status <> 'unreviewed') AS reviewed,
               count(*) FILTER (WHERE review_status = 'dismissed') AS dismissed,
               count(*) FILTER (WHERE needs_review) AS needs_review
        FROM flags WHERE {week_flags_sql()}
    """,
        params | {"worst": WORST_SEVERITY},
    )[0]
    data.by_behaviour = _rows(
        db,
        f"""
        SELECT category, behaviour, severity,
               count(*) FILTER (WHERE first_at >= $week_start) AS new,
               count(*) FILTER (WHERE first_at < $week_start) AS ongoing,
               count(*) AS total
        FROM flags WHERE {week_flags_sql()}
        GROUP BY category, behaviour, severity
        ORDER BY {category_rank_sql("category")}, behaviour, {severity_rank_sql("severity")} DESC
    """,
        params,
    )
    data.by_department = _rows(
        db,
        f"""
        SELECT coalesce(e.department, '(不明)') AS department, count(DISTINCT f.flag_id) AS flags,
               count(DISTINCT f.requester_key) AS requesters,
               count(DISTINCT e.contact_id) FILTER (WHERE e.started_at >= $week_start AND e.started_at < $week_end)
                   AS contacts_this_week
        FROM flags f JOIN flag_evidence e USING (flag_id)
        WHERE {week_flags_sql()}
        GROUP BY ALL ORDER BY flags DESC, department
    """,
        params,
    )
    data.trend = []
    for each in week.previous(8):
        counts = dict(
            db.con.execute(
                "SELECT category, count(*) FROM flags WHERE first_at >= $start AND first_at < $end GROUP BY ALL",
                {"start": each.start, "end": each.end},
            ).fetchall()
        )
        data.trend.append({"week": each.label, **{c: counts.get(c, 0) for c in CATEGORIES}})
    data.requesters = _requesters(db, profile, params)
    data.decisions = [describe(flag, profile) for flag in decision_flags(db, week)]
    data.ongoing_watch = ongoing_watch(db, week)
    data.coverage = coverage(db, week)
    data.closed = {
        (day - week.monday).days: reason
        for day, reason in closed_days(profile.site, week.monday, week.monday + timedelta(days=6))
    }
    data.handling = handling_totals(
        db,
        requester_keys=[person["requester"] for person in data.requesters],
        hourly_cost=profile.site.staff_hourly_cost,
        by_department=True,
    )
    data.unusable = [
        row | {"file": PurePath(row["path"]).name} for row in unusable_callers(db, start=week.start, end=week.end)
    ]
    return data


def _requesters(db: Database, profile: Profile, params: dict) -> list[dict[str, Any]]:
    flags = _rows(
        db,
        f"""
        SELECT flag_id, requester_key, rule_id, category, behaviour, severity, first_at, last_at, value, threshold,
               unit, group_key, threshold_override, review_status, needs_review, first_at >= $week_start AS is_new
        FROM flags WHERE {week_flags_sql()}
        ORDER BY requester_key, {severity_rank_sql("severity")} DESC, first_at
    """,
        params,
    )
    evidence = {
        row["requester_key"]: row
        for row in _rows(
            db,
            f"""
        WITH contacts AS (
            SELECT DISTINCT f.requester_key, e.contact_id, e.channel, e.department, e.talk_s
            FROM flags f JOIN flag_evidence e USING (flag_id)
            WHERE {week_flags_sql("f")}
        )
        SELECT requester_key, {EVIDENCE_TOTALS_SQL}
        FROM contacts GROUP BY ALL
    """,
            params,
        )
    }
    people: dict[str, dict[str, Any]] = {}
    for flag in flags:
        person = people.setdefault(
            flag["requester_key"],
            {
                "requester": flag["requester_key"],
                "flags": [],
                "worst": flag["severity"],
                "evidence": evidence.get(flag["requester_key"], {}),
            },
        )
        person["flags"].append(describe(flag, profile))
        person["worst"] = worst_severity([person["worst"], flag["severity"]])
    return sorted(people.values(), key=lambda p: (-severity_rank(p["worst"]), -len(p["flags"]), p["requester"]))


def describe(flag: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The flag with its Japanese labels, its value against the threshold, and the profile's response."""
    rule = next((r for r in profile.rules if r.id == flag["rule_id"]), None)
    flag["severity_label"] = SEVERITY_LABELS.get(flag["severity"], flag["severity"])
    flag["status_label"] = STATUS_LABELS.get(flag["review_status"], flag["review_status"])
    flag["response"] = (rule.responses.get(flag["severity"]) if rule else None) or "職員が内容を確認し、対応を判断する"
    flag["detail"] = detail_ja(flag, rule)
    return flag


def detail_ja(flag: dict[str, Any], rule: Rule | None) -> str:
    """The flag's value against its threshold, in Japanese: 6回（警告の基準: 6回以上）."""
    unit = UNITS_JA.get(flag["unit"], flag["unit"])
    value = f"{flag['value']:g}" if flag["unit"] != "minutes" else f"{round(flag['value'])}"
    label = SEVERITY_LABELS.get(flag["severity"], flag["severity"])
    if rule is not None:
        basis = RULE_KINDS[rule.kind].threshold_text_ja(rule, flag["severity"], flag["threshold"])
    else:
        basis = f"{flag['threshold']:g}{unit}以上"
    about = f"（{flag['group_key']}）" if flag.get("group_key") else ""
    override = rule.override(flag.get("threshold_override")) if rule else None
    where = f"・{'、'.join(override.departments)}の基準" if override else ""
    return f"{value}{unit}{about}（{label}の基準: {basis}{where}）"
