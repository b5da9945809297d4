"""Threshold rules as validated data: the model, the loader and the registry of kinds."""

from .inherit import find_profile
from .kinds import RULE_KINDS, RuleKind
from .load import check_profile, default_profile_path, load_profile, minutes_of, profile_site
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
    "find_profile",
    "load_profile",
    "minutes_of",
    "profile_site",
]
