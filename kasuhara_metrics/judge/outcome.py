"""What a judge run reports back: per rule and in total. The CLI and nightly print these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..rules import Profile


@dataclass
class RuleOutcome:
    rule_id: str
    contacts_evaluated: int = 0
    hits: int = 0
    flags: int = 0
    added: int = 0
    removed: int = 0


@dataclass
class JudgeReport:
    run_id: int | None
    profile: Profile
    as_of: date | None
    contacts_judged: int = 0
    flags: int = 0
    new: int = 0
    updated: int = 0
    gone: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)
    dry_run: bool = False
    requesters: list[str] | None = None  # judged only these; None: everyone
    total_flags: int = 0  # current flags after the run, everyone's
    # Departments a rule's override names that no stored contact has: a typo leaves the rule's own
    # tiers in force there, which would flag ordinary work of that department.
    unknown_departments: dict[str, list[str]] = field(default_factory=dict)
