"""same_topic: contacts on the same topic, repeated within a window.

Each tier is a list of windows, any of which is enough: `watch = [{days = 7, contacts = 3},
{days = 30, contacts = 5}]` fires at watch when 3 contacts on one topic fall within 7 days, or 5
within 30 days. Topics are compared case- and space-insensitively. Contacts without a topic (every
call) do not count.
"""

from __future__ import annotations

from datetime import timedelta

from ...common.levels import severity_rank_sql
from ...common.sqltext import sql_string
from ..model import SEVERITIES
from .base import CHANNEL, CONTACT_KINDS, Param, RuleKind


class SameTopic(RuleKind):
    name = "same_topic"
    summary = "contacts on one topic within a window: each tier lists {days, contacts} windows"
    unit = "contacts"
    unit_ja = "件"
    grouped_by = "topic_key"
    params = (
        CHANNEL,
        Param(
            "kinds",
            "strings",
            ["complaint", "demand", "inquiry", "other", "unknown"],
            "contact kinds counted",
            CONTACT_KINDS,
        ),
    )

    def check_tiers(self, tiers):
        problems = []
        for severity, windows in tiers.items():
            if not isinstance(windows, list) or not windows:
                problems.append((severity, "must be a list of windows such as [{days = 7, contacts = 3}]"))
                continue
            for number, window in enumerate(windows, start=1):
                if not isinstance(window, dict) or set(window) != {"days", "contacts"}:
                    problems.append((severity, f"window {number} must be {{days = N, contacts = M}}"))
                elif not all(
                    isinstance(window[k], (int, float)) and not isinstance(window[k], bool) and window[k] > 0
                    for k in ("days", "contacts")
                ):
                    problems.append((severity, f"window {number}: days and contacts must be positive numbers"))
        return problems

    def contact_filter(self, rule):
        where, params = super().contact_filter(rule)
        return f"{where} AND c.topic_key IS NOT NULL", params

    def _windows(self, rule):
        """(severity, days, contacts) for every window of every tier, mildest first."""
        return [(s, float(w["days"]), int(w["contacts"])) for s in SEVERITIES if s in rule.tiers for w in rule.tiers[s]]

    def lookback(self, rule):
        return timedelta(days=max(days for _, days, _ in self._windows(rule)))

    def measure_sql(self, rule):
        where, params = self.looked_at(rule)
        selects = []
        for number, (_, days, contacts) in enumerate(self._windows(rule)):
            params[f"days_{number}"] = days * 86400
            params[f"need_{number}"] = contacts
            selects.append(f"""
                SELECT c.requester_key, c.topic_key AS group_key, min(c.started_at) OVER w AS window_start,
                       coalesce(c.ended_at, c.started_at) AS window_end, count(*) OVER w AS value,
                       {number} AS window_number, $need_{number} AS need, TRUE AS eligible,
                       count(*) OVER w AS contacts
                FROM _judged c WHERE {where}
                WINDOW w AS (PARTITION BY c.requester_key, c.topic_key ORDER BY c.started_at
                             RANGE BETWEEN to_seconds($days_{number}) PRECEDING AND CURRENT ROW)
            """)
        return " UNION ALL ".join(selects), params

    def hits_sql(self, rule):
        measure, params = self.measure_sql(rule)
        windows = self._windows(rule)
        severity_of = " ".join(f"WHEN {n} THEN {sql_string(s)}" for n, (s, _, _) in enumerate(windows))
        sql = f"""
            SELECT requester_key, group_key, window_start, window_end,
                   CAST(arg_max(value, (severity_rank, value, need)) AS DOUBLE) AS value,
                   arg_max(severity, (severity_rank, value, need)) AS severity,
                   -- windows of one level met alike (3 in 7 days and 5 in 30): the larger count
                   -- decides, not the order rows arrive in
                   CAST(arg_max(need, (severity_rank, value, need)) AS DOUBLE) AS threshold,
                   CAST(NULL AS VARCHAR) AS override_id
            FROM (
                SELECT *, CASE window_number {severity_of} END AS severity,
                       {severity_rank_sql(f"CASE window_number {severity_of} END")} AS severity_rank
                FROM ({measure}) measured WHERE value >= need
            )
            GROUP BY requester_key, group_key, window_start, window_end
        """
        return sql, params

    def near_miss_sql(self, rule):
        # Each window needs its own count: closeness is the share of it reached.
        measure, params = self.measure_sql(rule)
        return (
            f"""SELECT *, need AS needed, value / need AS closeness, CAST(NULL AS VARCHAR) AS needed_severity,
                       CAST(NULL AS VARCHAR) AS override_id
                FROM ({measure}) measured""",
            params,
        )

    def threshold_text(self, rule, severity, threshold=None):
        return " or ".join(f"{w['contacts']} contacts within {w['days']:g} days" for w in rule.tiers[severity])

    def threshold_text_ja(self, rule, severity, threshold=None):
        windows = " または ".join(f"{w['days']:g}日で{w['contacts']}件" for w in rule.tiers.get(severity, []))
        return windows or f"{threshold:g}{self.unit_ja}"
