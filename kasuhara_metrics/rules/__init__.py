"""Threshold rules as validated data: the model, the loader and the registry of kinds."""

from .kinds import RULE_KINDS, RuleKind
from .load import check_profile, default_profile_path, load_profile, minutes_of
from .model import CATEGORIES, SEVERITIES, SEVERITY_LABELS, Example, Profile, Rule

__all__ = [
    "CATEGORIES",
    "RULE_KINDS",
    "SEVERITIES",
    "SEVERITY_LABELS",
    "Example",
    "Profile",
    "Rule",
    "RuleKind",
    "check_profile",
    "default_profile_path",
    "load_profile",
    "minutes_of",
]
