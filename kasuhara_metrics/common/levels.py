"""The vocabulary every layer shares: a flag's severities and the categories of behaviour.

Declared once here; rules validate against it, the judge ranks by it, and the report and charts
order, label and colour by it. One place holds the ranking as history: the `flags` view of the
released migrations (schema.py) says a review is due again when a flag went from watch to alert.
Changing SEVERITIES therefore needs a new migration that re-creates that view from
`severity_rank_sql` (tests/test_rule_texts.py holds the two together).
"""

from __future__ import annotations

from collections.abc import Iterable

from .sqltext import sql_list

# Severity tiers, mildest first: the order is the rank. Japanese labels are what managers read.
SEVERITIES = ("watch", "alert")
SEVERITY_LABELS = {"watch": "注意", "alert": "警告"}
WORST_SEVERITY = SEVERITIES[-1]
# The two headings of 文京区's policy the engine measures: 拘束 (holding staff) and 繰り返し (repeating).
CATEGORIES = ("拘束", "繰り返し")


def severity_rank(severity: str) -> int:
    """0 for the mildest severity, higher for worse ones."""
    return SEVERITIES.index(severity)


def worst_severity(severities: Iterable[str]) -> str | None:
    """The worst of `severities`, or None when there are none."""
    return max(severities, key=severity_rank, default=None)


def severity_rank_sql(expression: str) -> str:
    """SQL ordering `expression` as `severity_rank` does, counted from 1 (NULL for an unknown severity)."""
    return f"list_position({sql_list(SEVERITIES)}, {expression})"


def category_rank_sql(expression: str) -> str:
    """SQL ordering categories as declared."""
    return f"list_position({sql_list(CATEGORIES)}, {expression})"
