"""count_window: how many contacts in one site-local day, or in any sliding window of N hours."""

from __future__ import annotations

from datetime import timedelta

from .base import ANSWERED_ONLY, CHANNEL, Param, RuleKind


class CountWindow(RuleKind):
    name = "count_window"
    summary = 'contacts per calendar day (period = "day") or within any window_hours reach a tier'
    unit = "contacts"
    unit_ja = "件"
    params = (
        CHANNEL,
        ANSWERED_ONLY,
        Param(
            "period",
            "string",
            "day",
            '"day": per site-local calendar day; "sliding": any window_hours',
            ("day", "sliding"),
        ),
        Param("window_hours", "number", 24, 'length of the sliding window (period = "sliding")', minimum=0.01),
    )

    def lookback(self, rule):
        values = self.param_values(rule)
        return timedelta(hours=values["window_hours"]) if values["period"] == "sliding" else timedelta(0)

    def measure_sql(self, rule):
        values = self.param_values(rule)
        where, params = self.looked_at(rule)
        if values["period"] == "day":
            return (
                f"""
                SELECT c.requester_key, NULL AS group_key, min(c.started_at) AS window_start,
                       max(coalesce(c.ended_at, c.started_at)) AS window_end, count(*) AS value, TRUE AS eligible,
                       count(*) AS contacts
                FROM _judged c WHERE {where}
                GROUP BY c.requester_key, c.local_day
            """,
                params,
            )
        params["window_minutes"] = float(values["window_hours"]) * 60
        return (
            f"""
            SELECT requester_key, NULL AS group_key, window_start, window_end, value,
                   TRUE AS eligible, value AS contacts
            FROM (
                SELECT c.requester_key, coalesce(c.ended_at, c.started_at) AS window_end,
                       count(*) OVER w AS value, min(c.started_at) OVER w AS window_start
                FROM _judged c WHERE {where}
                WINDOW w AS (PARTITION BY c.requester_key ORDER BY c.started_at
                             RANGE BETWEEN to_seconds($window_minutes * 60) PRECEDING AND CURRENT ROW)
            )
        """,
            params,
        )
