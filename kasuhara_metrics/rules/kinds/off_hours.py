"""off_hours: contacts outside the site's business hours or on its closed days, within any window_days.

Closed days are the site's business calendar (common/calendar.py: weekends, public holidays from
jpholiday, the year-end closure). A contact counts by when it started, site time. `counts` says
which: "answered" (a call a member of staff answered, or a visit), or "attempts" (a call that
reached only the closed-hours announcement or another machine). Busy and unanswered calls are
neither, so a resident who tries again and again after closing time is not counted for it.
"""

from __future__ import annotations

from datetime import timedelta

from .base import CHANNEL, Param, RuleKind

COUNTED = {
    "answered": "(c.channel = 'visit' OR c.answered)",
    "attempts": "(c.channel = 'call' AND c.outcome = 'machine')",
}


class OffHours(RuleKind):
    name = "off_hours"
    summary = "contacts starting outside business hours or on closed days, within any window_days"
    unit = "contacts"
    unit_ja = "件"
    needs_calendar = True
    # The measurement's `contacts` column holds the different days, which min_days asks for.
    too_few = ", on {got} of the {needed} different days needed"
    too_few_ja = "、必要な{needed}日のうち{got}日"
    params = (
        CHANNEL,
        Param(
            "counts",
            "string",
            "answered",
            '"answered": calls staff answered and visits; "attempts": calls that reached only the closed-hours '
            "announcement",
            tuple(COUNTED),
        ),
        Param("window_days", "number", 30, "length of the sliding window", minimum=0.01),
        Param("min_days", "int", 1, "different site-local days the window's contacts must fall on", minimum=1),
    )

    def check_params(self, params):
        if params.get("counts") == "attempts" and params.get("channel") == "visit":
            return [("channel", 'cannot be "visit" when counts = "attempts": attempts are calls')]
        return []

    def contact_filter(self, rule):
        where, params = super().contact_filter(rule)
        return f"{where} AND c.off_hours AND {COUNTED[self.param_values(rule)['counts']]}", params

    def min_contacts(self, rule):
        return self.param_values(rule)["min_days"]

    def lookback(self, rule):
        return timedelta(days=self.param_values(rule)["window_days"])

    def measure_sql(self, rule):
        values = self.param_values(rule)
        where, params = self.looked_at(rule)
        params.update(window_seconds=float(values["window_days"]) * 86400, min_days=values["min_days"])
        return (
            f"""
            SELECT requester_key, NULL AS group_key, window_start, window_end, value,
                   days >= $min_days AS eligible, days AS contacts
            FROM (
                SELECT c.requester_key, coalesce(c.ended_at, c.started_at) AS window_end,
                       count(*) OVER w AS value, count(DISTINCT c.local_day) OVER w AS days,
                       min(c.started_at) OVER w AS window_start
                FROM _judged c WHERE {where}
                WINDOW w AS (PARTITION BY c.requester_key ORDER BY c.started_at
                             RANGE BETWEEN to_seconds($window_seconds) PRECEDING AND CURRENT ROW)
            )
        """,
            params,
        )
