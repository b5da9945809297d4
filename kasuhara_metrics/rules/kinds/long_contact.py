"""long_contact: one contact's talk time (a call's answer-to-end, a visit's arrival-to-end)."""

from __future__ import annotations

from .base import CHANNEL, RuleKind


class LongContact(RuleKind):
    name = "long_contact"
    summary = "one contact's talk time in minutes reaches a tier"
    unit = "minutes"
    unit_ja = "分"
    params = (CHANNEL,)
    per_department = True

    def measure_sql(self, rule):
        where, params = self.looked_at(rule)
        return (
            f"""
            SELECT c.requester_key, NULL AS group_key, c.started_at AS window_start,
                   coalesce(c.ended_at, c.started_at) AS window_end, c.talk_s / 60.0 AS value,
                   TRUE AS eligible, 1 AS contacts, c.department
            FROM _judged c WHERE {where}
        """,
            params,
        )
