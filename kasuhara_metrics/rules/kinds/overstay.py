"""overstay: a visit that goes on after the counter closed, or after the visitor was asked to leave.

The tiers are grace periods: the rule fires when the visit ends MORE than that many minutes after
the reference (closing time on the visit's day, or the logged exit request).
"""

from __future__ import annotations

from .base import Param, RuleKind


class Overstay(RuleKind):
    name = "overstay"
    summary = "a visit ends more than N minutes after closing time or after a logged exit request"
    unit = "minutes"
    unit_ja = "分"
    strict = True
    per_department = True
    params = (
        Param(
            "reference",
            "string",
            "closing",
            '"closing" (site counter_closing) or "exit_request"',
            ("closing", "exit_request"),
        ),
    )

    def contact_filter(self, rule):
        if self.param_values(rule)["reference"] == "exit_request":
            return "c.channel = 'visit' AND c.exit_requested_at IS NOT NULL", {}
        return "c.channel = 'visit'", {}

    def measure_sql(self, rule):
        if self.param_values(rule)["reference"] == "exit_request":
            reference = "c.exit_requested_at"
        else:
            reference = "c.closing_at"
        where, params = self.looked_at(rule)
        return (
            f"""
            SELECT c.requester_key, NULL AS group_key, c.started_at AS window_start, c.ended_at AS window_end,
                   (epoch(c.ended_at) - epoch({reference})) / 60.0 AS value, TRUE AS eligible, 1 AS contacts,
                   c.department
            FROM _judged c WHERE {where} AND c.ended_at IS NOT NULL
        """,
            params,
        )
