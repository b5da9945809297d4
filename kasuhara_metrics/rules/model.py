"""The rule model: frozen dataclasses built from a profile's TOML by rules/load.py.

A profile is a named, versioned set of rules plus site settings. Each rule names a kind (the
registry in rules/kinds), its parameters, its severity tiers, the sources behind its numbers, and
examples of contacts that must and must not make it fire.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from ..common.errors import SourceLocation
from ..common.levels import CATEGORIES, SEVERITIES, SEVERITY_LABELS
from ..common.site import SiteSettings

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "SEVERITY_LABELS",
    "DepartmentOverride",
    "Example",
    "ExampleContact",
    "Profile",
    "Rule",
]


@dataclass(frozen=True)
class ExampleContact:
    """A contact in a rule example, placed by its offset from the example's start."""

    offset_minutes: float
    channel: str = "call"
    talk_minutes: float = 5.0
    answered: bool = True
    outcome: str = "answered"
    department: str | None = "区民課"
    kind: str = "unknown"
    topic: str | None = None
    exit_request_minutes: float | None = None  # after arrival
    requester: str = "A"


@dataclass(frozen=True)
class Example:
    """Contacts that must make the rule fire at `expect` severity, or not at all (`expect = "none"`)."""

    name: str
    expect: str
    contacts: tuple[ExampleContact, ...]
    start: str = "2026-09-01 09:00"  # a Tuesday, in the site zone
    source: SourceLocation | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DepartmentOverride:
    """A rule's own tiers for some departments, or the rule switched off for them.

    For work whose ordinary form is long (生活支援課 interviews, 相談 counters): a rule whose
    measurement belongs to one department (`RuleKind.per_department`) may take other tiers there;
    any rule may leave those departments' contacts alone (`enabled = false`).
    """

    id: str
    departments: tuple[str, ...]
    reason: str
    tiers: dict[str, Any] | None = None  # None: switched off for these departments
    source: SourceLocation | None = field(default=None, compare=False)

    @property
    def enabled(self) -> bool:
        return self.tiers is not None

    def to_dict(self) -> dict[str, Any]:
        return {"departments": list(self.departments), "reason": self.reason, "tiers": self.tiers}


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    behaviour: str
    kind: str
    description: str
    sources: tuple[str, ...]
    params: dict[str, Any]
    tiers: dict[str, Any]  # severity -> threshold (the kind says of what)
    examples: tuple[Example, ...] = ()
    enabled: bool = True
    # What the ward does at each severity (report text for managers), e.g. 対応をお断りする.
    responses: dict[str, str] = field(default_factory=dict)
    source: SourceLocation | None = field(default=None, compare=False)
    overrides: tuple[DepartmentOverride, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # Overrides only when there are some, so that rules without them hash as before they existed.
        extra = {"overrides": {o.id: o.to_dict() for o in self.overrides}} if self.overrides else {}
        return {
            "id": self.id,
            "category": self.category,
            "behaviour": self.behaviour,
            "kind": self.kind,
            "description": self.description,
            "sources": list(self.sources),
            "params": self.params,
            "tiers": self.tiers,
            "enabled": self.enabled,
            "responses": self.responses,
            **extra,
        }

    @property
    def content_hash(self) -> str:
        """Identifies what the rule judges: a changed threshold, parameter or override changes it."""
        judged = {k: v for k, v in self.to_dict().items() if k in ("id", "kind", "params", "tiers", "enabled")}
        if self.overrides:  # their departments and tiers; a reason is wording
            judged["overrides"] = {o.id: {"departments": list(o.departments), "tiers": o.tiers} for o in self.overrides}
        text = json.dumps(judged, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def severities(self) -> list[str]:
        """This rule's severities, mildest first."""
        return [s for s in SEVERITIES if s in self.tiers]

    @property
    def switched_off_departments(self) -> list[str]:
        """Departments whose contacts this rule does not look at."""
        return [d for o in self.overrides if not o.enabled for d in o.departments]

    @property
    def tier_overrides(self) -> tuple[DepartmentOverride, ...]:
        return tuple(o for o in self.overrides if o.enabled)

    def override(self, override_id: str | None) -> DepartmentOverride | None:
        return next((o for o in self.overrides if o.id == override_id), None)


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    title: str
    path: str
    site: SiteSettings
    rules: tuple[Rule, ...]
    source: SourceLocation | None = field(default=None, compare=False)
    # The policy the profile serves, as the report names it.
    policy: str = ""
    # The files this profile was built from, itself first, then what it extends (`extends = ...`).
    lineage: tuple[str, ...] = field(default=(), compare=False)

    @property
    def content_hash(self) -> str:
        text = json.dumps(
            {"version": self.version, "rules": [r.content_hash for r in self.rules], "site": self.site.to_dict()},
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def enabled_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def with_thresholds(self, rule_id: str, **thresholds: float) -> Profile:
        """This profile with some of one rule's thresholds changed, for a what-if; the levels not
        named keep theirs. Checked as the loader checks a profile, e.g.
        `profile.with_thresholds("long_call", watch=45)` or `...("long_call", watch=45, alert=90)`."""
        from .kinds import RULE_KINDS  # the kinds import this module

        rule = self.rule(rule_id)
        unknown = sorted(set(thresholds) - set(rule.tiers))
        if unknown:
            raise ValueError(f"rule {rule_id} has no level {', '.join(unknown)}: its levels are {rule.severities()}")
        tiers = {severity: thresholds.get(severity, threshold) for severity, threshold in rule.tiers.items()}
        problems = RULE_KINDS[rule.kind].check_tiers(tiers)
        if problems:
            raise ValueError(f"rule {rule_id}: " + "; ".join(f"tiers.{where} {why}" for where, why in problems))
        changed = replace(rule, tiers=tiers)
        return replace(self, rules=tuple(changed if r.id == rule_id else r for r in self.rules))
