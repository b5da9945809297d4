"""The registry of rule kinds: the only way a profile's `kind = "..."` becomes code."""

from __future__ import annotations

from .base import CONTACT_KINDS, NearMissValues, Param, RuleKind
from .count_window import CountWindow
from .daily_total import DailyTotal
from .distinct_window import DistinctWindow
from .long_contact import LongContact
from .off_hours import OffHours
from .overstay import Overstay
from .redial import Redial
from .same_topic import SameTopic

RULE_KINDS: dict[str, RuleKind] = {
    kind.name: kind()
    for kind in (LongContact, CountWindow, DistinctWindow, Redial, DailyTotal, Overstay, SameTopic, OffHours)
}

__all__ = ["CONTACT_KINDS", "RULE_KINDS", "NearMissValues", "Param", "RuleKind"]
