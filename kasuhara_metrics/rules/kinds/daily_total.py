"""daily_total: total talk time of one requester with one department on one site-local day."""

from __future__ import annotations

from .base import ANSWERED_ONLY, CHANNEL, Param, RuleKind


class DailyTotal(RuleKind):
    name = "daily_total"
    summary = "total minutes to one department on one day, over at least min_contacts contacts"
    unit = "minutes"
    unit_ja = "分"
    grouped_by = "department"
    per_department = True
    params = (
        CHANNEL,
        ANSWERED_ONLY,
        Param("min_contacts", "int", 2, "contacts that day with that department", minimum=1),
    )

    def contact_filter(self, rule):
        where, params = super().contact_filter(rule)
        return f"{where} AND c.department IS NOT NULL", params

    def measure_sql(self, rule):
        where, params = self.looked_at(rule)
        params["min_contacts"] = self.param_values(rule)["min_contacts"]
        return (
            f"""
            SELECT c.requester_key, c.department AS group_key, min(c.started_at) AS window_start,
                   max(coalesce(c.ended_at, c.started_at)) AS window_end, sum(c.talk_s) / 60.0 AS value,
                   count(*) >= $min_contacts AS eligible, count(*) AS contacts, c.department
            FROM _judged c WHERE {where}
            GROUP BY c.requester_key, c.department, c.local_day
        """,
            params,
        )
