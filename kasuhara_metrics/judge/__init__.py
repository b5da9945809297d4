"""The judge: a profile's rules over the contacts, giving flags with their evidence.

prepare (the contacts judged) -> hits (measurements that reach a tier, per rule kind) -> episodes
(overlapping hits are one flag) -> store (flags, evidence, the run). explain tells why a requester
was or was not flagged; examples runs each rule's examples. A flag is a lead for a person to
review, never a verdict.
"""

from .outcome import JudgeReport, RuleOutcome
from .prepare import prepare_judged
from .run import judge
from .store import LastRun, last_profile_hash, last_run

__all__ = ["JudgeReport", "LastRun", "RuleOutcome", "judge", "last_profile_hash", "last_run", "prepare_judged"]
