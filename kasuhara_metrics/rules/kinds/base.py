"""What every rule kind shares: parameters with defaults, tiers, and the SQL around a measurement.

A kind measures something per requester (a contact's talk time, redials within 24 hours, ...) and
returns one row per measurement from `measure_sql`: requester_key, group_key, window_start,
window_end, value, eligible (enough contacts to count) and contacts. `hits_sql` wraps it with the
rule's tiers: a row whose value reaches the lowest tier (`>=`, or `>` for grace periods) is a hit
with a severity and a threshold. Every number is a bound parameter. The relation `_judged` holds
the requesters' contacts being judged, with `local_day` (the site-local date of the start) and
`topic_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, ClassVar

from ...common.sqltext import sql_string
from ..model import SEVERITIES, SEVERITY_LABELS, Rule

NO_DEFAULT = object()


@dataclass(frozen=True)
class NearMissValues:
    """The closest measurement of a rule that did not fire: its value, what was needed, and when."""

    value: float
    needed: float
    day: date
    contacts: int
    severity: str | None = None  # the mildest level that applies to it (its override may lack one)
    override_id: str | None = None  # the department override whose tiers it was measured against


CONTACT_KINDS = ("complaint", "demand", "inquiry", "procedure", "consultation", "other", "unknown")


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its type, default, and what it means."""

    name: str
    type: str  # int | number | bool | string | strings
    default: Any = NO_DEFAULT
    help: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None

    def check(self, value: Any) -> str | None:
        """A sentence saying what is wrong with `value`, or None."""
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "string": isinstance(value, str),
            "strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[self.type]
        if not ok:
            words = {
                "int": "a whole number",
                "number": "a number",
                "bool": "true or false",
                "string": "a string",
                "strings": "a list of strings",
            }[self.type]
            return f"must be {words}, not {value!r}"
        values = value if self.type == "strings" else [value]
        if self.choices:
            wrong = [v for v in values if v not in self.choices]
            if wrong:
                return f"{wrong[0]!r} is not one of {', '.join(map(str, self.choices))}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum}, not {value}"
        return None


CHANNEL = Param("channel", "string", "any", "which contacts count: call, visit or any", ("call", "visit", "any"))
ANSWERED_ONLY = Param(
    "answered_only", "bool", True, "count only calls a member of staff answered (visits always count)"
)


class RuleKind:
    """A kind of rule. Subclasses set the class attributes and write `measure_sql`."""

    name: ClassVar[str]
    summary: ClassVar[str]
    unit: ClassVar[str]  # of the value and the tiers
    unit_ja: ClassVar[str]  # the same unit as the report writes it (分, 回, 件)
    params: ClassVar[tuple[Param, ...]] = ()
    strict: ClassVar[bool] = False  # tiers are grace periods: the value must exceed them
    grouped_by: ClassVar[str | None] = None  # contacts column the measurement is per (department, topic)
    # A measurement belongs to one department (its `department` column): overrides may give it other tiers.
    per_department: ClassVar[bool] = False
    # What a near miss says when the measurement lacked contacts besides its value (min_contacts).
    too_few: ClassVar[str] = ", over {got} of the {needed} contacts needed"
    too_few_ja: ClassVar[str] = "、必要な{needed}件のうち{got}件の対応"
    # The measurement reads `_judged.off_hours`, which the judge adds from the site's business calendar.
    needs_calendar: ClassVar[bool] = False

    # -- checks -----------------------------------------------------------------------------
    def param_values(self, rule: Rule) -> dict[str, Any]:
        values = {p.name: p.default for p in self.params if p.default is not NO_DEFAULT}
        values.update(rule.params)
        return values

    def check_tiers(self, tiers: dict[str, Any]) -> list[tuple[str, str]]:
        """(dotted key below `tiers`, problem) for each problem."""
        problems = []
        for severity, threshold in tiers.items():
            if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 0:
                problems.append((severity, f"must be a number of {self.unit} (0 or more), not {threshold!r}"))
        numeric = [(s, t) for s, t in tiers.items() if isinstance(t, (int, float)) and not isinstance(t, bool)]
        ordered = sorted(numeric, key=lambda item: SEVERITIES.index(item[0]) if item[0] in SEVERITIES else 99)
        for (milder, low), (worse, high) in pairwise(ordered):
            if high <= low:
                problems.append((worse, f"{worse} ({high}) must be above {milder} ({low}): a worse tier needs more"))
        return problems

    def check_params(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        """Cross-parameter problems; single values are checked against `params` by the loader."""
        return []

    # -- SQL --------------------------------------------------------------------------------
    def contact_filter(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        """Which of the requester's contacts this rule looks at (SQL on `_judged c`)."""
        values = self.param_values(rule)
        conditions, params = ["TRUE"], {}
        channel = values.get("channel", "any")
        if channel != "any":
            conditions.append("c.channel = $f_channel")
            params["f_channel"] = channel
        if values.get("answered_only"):
            conditions.append("c.answered")
        if "kinds" in values:
            conditions.append("list_contains($f_kinds, c.kind)")
            params["f_kinds"] = list(values["kinds"])
        return " AND ".join(conditions), params

    def looked_at(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        """`contact_filter`, less the contacts of departments an override switched the rule off for."""
        where, params = self.contact_filter(rule)
        kept, off = self.not_switched_off(rule, "c.department")
        return f"{where} AND {kept}", {**params, **off}

    def not_switched_off(self, rule: Rule, department: str) -> tuple[str, dict[str, Any]]:
        """SQL true when `department` is not one the rule is switched off for (NULL is none)."""
        if off := rule.switched_off_departments:
            return f"({department} IS NULL OR NOT list_contains($f_off_departments, {department}))", {
                "f_off_departments": off
            }
        return "TRUE", {}

    def measure_sql(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def tiered_sql(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        """The measurements with the tiers that apply to each: `tier_<severity>` columns (NULL where
        the severity does not apply) and `override_id`, the department override that set them."""
        measure, params = self.measure_sql(rule)
        overrides = rule.tier_overrides
        for severity in rule.severities():
            params[f"tier_{severity}"] = float(rule.tiers[severity])
        tier_columns = [f"$tier_{s} AS tier_{s}" for s in rule.severities()]
        override_id = "CAST(NULL AS VARCHAR)"
        if overrides:
            whens = []
            for number, override in enumerate(overrides):
                params[f"ov_{number}_departments"] = list(override.departments)
                params[f"ov_{number}_id"] = override.id
                for severity, threshold in (override.tiers or {}).items():
                    params[f"ov_{number}_{severity}"] = float(threshold)
                whens.append(f"WHEN list_contains($ov_{number}_departments, department) THEN $ov_{number}_id")
            override_id = f"CASE {' '.join(whens)} END"
            tier_columns = []
            for severity in rule.severities():
                # an override that leaves a severity out: that severity does not apply there (NULL)
                own = " ".join(
                    f"WHEN $ov_{n}_id THEN {f'$ov_{n}_{severity}' if severity in (o.tiers or {}) else 'NULL'}"
                    for n, o in enumerate(overrides)
                )
                tier_columns.append(
                    f"CAST(CASE override_id {own} ELSE $tier_{severity} END AS DOUBLE) AS tier_{severity}"
                )
        sql = f"""
            SELECT *, {", ".join(tier_columns)}
            FROM (SELECT *, {override_id} AS override_id FROM ({measure}) measured)
        """
        return sql, params

    def hits_sql(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        """The measurements that reach a tier, with severity, threshold and the override behind them."""
        tiered, params = self.tiered_sql(rule)
        compare = ">" if self.strict else ">="
        worst_first = list(reversed(rule.severities()))
        severity_case = " ".join(f"WHEN value {compare} tier_{s} THEN {sql_string(s)}" for s in worst_first)
        threshold_case = " ".join(f"WHEN value {compare} tier_{s} THEN tier_{s}" for s in worst_first)
        sql = f"""
            SELECT requester_key, group_key, window_start, window_end, value, severity, threshold, override_id
            FROM (
                SELECT requester_key, group_key, window_start, window_end, CAST(value AS DOUBLE) AS value,
                       CASE {severity_case} END AS severity, CAST(CASE {threshold_case} END AS DOUBLE) AS threshold,
                       override_id, eligible
                FROM ({tiered}) tiered
            )
            WHERE eligible AND severity IS NOT NULL
        """
        return sql, params

    def near_miss_sql(self, rule: Rule) -> tuple[str, dict[str, Any]]:
        """Every measurement with what its mildest tier needs (`needed`) and how close it came (`closeness`).

        Explain keeps the closest one: "2 of 3 redials" when a case seems to be missing. Where a
        department override sets other tiers, closeness is the share of its own tier reached.
        """
        tiered, params = self.tiered_sql(rule)
        needed = "coalesce(" + ", ".join(f"tier_{s}" for s in rule.severities()) + ")"
        needed_severity = (
            "CASE " + " ".join(f"WHEN tier_{s} IS NOT NULL THEN {sql_string(s)}" for s in rule.severities()) + " END"
        )
        closeness = "value / nullif(needed, 0)" if rule.tier_overrides else "value"
        return (
            f"""SELECT *, {closeness} AS closeness FROM (
                    SELECT *, {needed} AS needed, {needed_severity} AS needed_severity FROM ({tiered}) tiered
                ) WHERE needed IS NOT NULL""",
            params,
        )

    def near_miss_text(self, rule: Rule, near: NearMissValues, language: str = "en") -> str:
        """The closest measurement against the mildest tier that applies to it (a department
        override's, where one set them), in English or Japanese."""
        mildest = near.severity or rule.severities()[0]
        override = rule.override(near.override_id)
        if language == "ja":
            where = f"・{'、'.join(override.departments)}の基準" if override else ""
            text = (
                f"{near.day}に{near.value:g}{self.unit_ja}"
                f"（{SEVERITY_LABELS[mildest]}の基準: {self.threshold_text_ja(rule, mildest, near.needed)}{where}）"
            )
            fewest = self.min_contacts(rule)
            if fewest and near.contacts < fewest:
                text += self.too_few_ja.format(needed=fewest, got=near.contacts)
            return text
        if self.strict:
            text = (
                f"{near.value:g} {self.unit} on {near.day}; "
                f"{SEVERITY_LABELS[mildest]} needs {self.threshold_text(rule, mildest, near.needed)}"
            )
        else:
            text = f"{near.value:g} of {near.needed:g} {self.unit} on {near.day}"
        if override:
            text += f" (override {override.id} for {', '.join(override.departments)})"
        fewest = self.min_contacts(rule)
        if fewest and near.contacts < fewest:
            text += self.too_few.format(needed=fewest, got=near.contacts)
        return text

    def min_contacts(self, rule: Rule) -> int | None:
        """Contacts a measurement needs besides its value (distinct_window, daily_total), if any."""
        return self.param_values(rule).get("min_contacts")

    def lookback(self, rule: Rule) -> timedelta:
        """How long before the contact a measurement ends on its other contacts can start.

        The judge adds a site-local day for measurements per day; an increment judges again what
        this reaches back to from a changed contact.
        """
        return timedelta(0)

    def group_sql(self) -> str | None:
        return f"c.{self.grouped_by}" if self.grouped_by else None

    def threshold_text(self, rule: Rule, severity: str, threshold: float | None = None) -> str:
        """The tier in English, as flag details say it: "at least 60 minutes" (`threshold`: the
        number to show instead of the profile's tier)."""
        compare = "more than" if self.strict else "at least"
        number = rule.tiers[severity] if threshold is None else threshold
        return f"{compare} {number:g} {self.unit}"

    def threshold_text_ja(self, rule: Rule, severity: str, threshold: float | None = None) -> str:
        """The tier in Japanese, as the report says it: 「60分以上」, 「15分超」.

        `threshold` is the number a stored flag fired at, when it should be shown rather than the
        profile's current tier.
        """
        number = rule.tiers[severity] if threshold is None else threshold
        return f"{number:g}{self.unit_ja}{'超' if self.strict else '以上'}"


def minutes(value: float) -> float:
    return float(value) * 60.0
