"""redial: calls that start soon after the END of the requester's previous, answered, call.

A call is a redial when the call before it (same requester) was answered and it starts no more
than gap_minutes after that call ended. A retry after a busy or unanswered call is not a redial.
The value is the number of redials within any window_hours (sliding, inclusive).
"""

from __future__ import annotations

from datetime import timedelta

from .base import Param, RuleKind


class Redial(RuleKind):
    name = "redial"
    summary = "redials (a call starting <= gap_minutes after an answered call ended) within window_hours"
    unit = "redials"
    unit_ja = "回"
    params = (
        Param(
            "gap_minutes",
            "number",
            5,
            "longest gap from the end of an answered call to the next call's start",
            minimum=0,
        ),
        Param("window_hours", "number", 24, "length of the sliding window in which redials are counted", minimum=0.01),
    )

    def contact_filter(self, rule):
        return "c.channel = 'call'", {}

    def lookback(self, rule):
        # the redials within the window, and the answered call before the first of them
        values = self.param_values(rule)
        return timedelta(hours=values["window_hours"], minutes=values["gap_minutes"])

    def measure_sql(self, rule):
        values = self.param_values(rule)
        # The call before is the one before among ALL calls: leaving a department alone must never
        # make a retry after an unanswered call into a redial. Pairs with its calls are dropped after.
        where, filter_params = self.contact_filter(rule)
        kept, off_params = self.not_switched_off(rule, "department")
        previous_kept, _ = self.not_switched_off(rule, "previous_department")
        params = {
            **filter_params,
            **off_params,
            "gap_seconds": float(values["gap_minutes"]) * 60,
            "window_seconds": float(values["window_hours"]) * 3600,
        }
        return (
            f"""
            WITH calls AS (
                SELECT c.requester_key, c.started_at, coalesce(c.ended_at, c.started_at) AS ended_at,
                       lag(c.answered) OVER w AS previous_answered,
                       lag(coalesce(c.ended_at, c.started_at)) OVER w AS previous_end,
                       lag(c.started_at) OVER w AS previous_start,
                       c.department, lag(c.department) OVER w AS previous_department
                FROM _judged c WHERE {where}
                WINDOW w AS (PARTITION BY c.requester_key ORDER BY c.started_at, c.contact_id)
            ), redials AS (
                SELECT * FROM calls
                WHERE previous_answered AND started_at >= previous_end
                  AND epoch(started_at) - epoch(previous_end) <= $gap_seconds AND {kept} AND {previous_kept}
            )
            SELECT requester_key, NULL AS group_key,
                   min(previous_start) OVER w AS window_start, ended_at AS window_end,
                   count(*) OVER w AS value, TRUE AS eligible, count(*) OVER w AS contacts
            FROM redials
            WINDOW w AS (PARTITION BY requester_key ORDER BY started_at
                         RANGE BETWEEN to_seconds($window_seconds) PRECEDING AND CURRENT ROW)
        """,
            params,
        )
