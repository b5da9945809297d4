"""distinct_window: how many different departments (or another field) within any window_days."""

from __future__ import annotations

from datetime import timedelta

from .base import ANSWERED_ONLY, CHANNEL, CONTACT_KINDS, Param, RuleKind


class DistinctWindow(RuleKind):
    name = "distinct_window"
    summary = "distinct values of `field` among at least min_contacts contacts within any window_days"
    unit = "departments"
    unit_ja = "部署"
    params = (
        CHANNEL,
        ANSWERED_ONLY,
        Param(
            "field", "string", "department", "the field whose distinct values are counted", ("department", "topic_key")
        ),
        Param("window_days", "number", 30, "length of the sliding window", minimum=0.01),
        Param("min_contacts", "int", 5, "contacts the window must hold as well", minimum=1),
        Param(
            "kinds", "strings", ["complaint", "demand", "inquiry", "unknown"], "contact kinds counted", CONTACT_KINDS
        ),
    )

    def contact_filter(self, rule):
        where, params = super().contact_filter(rule)
        field = self.param_values(rule)["field"]
        return f"{where} AND c.{field} IS NOT NULL", params

    def lookback(self, rule):
        return timedelta(days=self.param_values(rule)["window_days"])

    def measure_sql(self, rule):
        values = self.param_values(rule)
        where, params = self.looked_at(rule)
        params.update(window_seconds=float(values["window_days"]) * 86400, min_contacts=values["min_contacts"])
        field = values["field"]
        return (
            f"""
            SELECT requester_key, NULL AS group_key, window_start, window_end, value,
                   contacts >= $min_contacts AS eligible, contacts
            FROM (
                SELECT c.requester_key, coalesce(c.ended_at, c.started_at) AS window_end,
                       count(DISTINCT c.{field}) OVER w AS value, count(*) OVER w AS contacts,
                       min(c.started_at) OVER w AS window_start
                FROM _judged c WHERE {where}
                WINDOW w AS (PARTITION BY c.requester_key ORDER BY c.started_at
                             RANGE BETWEEN to_seconds($window_seconds) PRECEDING AND CURRENT ROW)
            )
        """,
            params,
        )
