"""Run a rule's examples: contacts that must make it fire at a severity, or must not.

Each example gets a fresh in-memory database holding only its contacts, judged by a profile of
that one rule, so examples can neither see nor disturb real data. The test suite runs every
example of every shipped profile; `kasuhara thresholds check` runs them too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..common.db import connect
from ..common.levels import worst_severity
from ..common.sqltext import insert_values_sql
from ..rules.model import Example, Profile, Rule
from .run import judge


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    example: Example
    got: str  # the worst severity that fired, or "none"

    @property
    def passed(self) -> bool:
        return self.got == self.example.expect

    def __str__(self) -> str:
        verdict = "ok" if self.passed else f"FAILED: expected {self.example.expect}, got {self.got}"
        return f"{self.rule_id}: {self.example.name}: {verdict}"


def example_contacts(example: Example, timezone: str) -> list[dict[str, Any]]:
    """The example's contacts, one row of the contacts table each."""
    start = datetime.strptime(example.start, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(timezone))
    rows = []
    for number, c in enumerate(example.contacts, start=1):
        begins = start + timedelta(minutes=c.offset_minutes)
        talk = timedelta(minutes=c.talk_minutes)
        ends = begins + (talk if c.answered else timedelta(seconds=30))
        rows.append(
            {
                "contact_id": f"example:{number}",
                "channel": c.channel,
                "requester_key": f"R{c.requester}",
                "caller_class": "external",
                "direction": "inbound" if c.channel == "call" else "visit",
                "department": c.department,
                "kind": c.kind if c.channel == "visit" else "unknown",
                "topic": c.topic,
                "started_at": begins,
                "answered_at": begins if c.answered else None,
                "ended_at": ends,
                "talk_s": int(talk.total_seconds()) if c.answered else 0,
                "span_s": int((ends - begins).total_seconds()),
                "answered": c.answered,
                "outcome": c.outcome if c.channel == "call" else "visit",
                "legs": 1,
                "source_ids": [f"ex{number}"],
                "exit_requested_at": begins + timedelta(minutes=c.exit_request_minutes)
                if c.exit_request_minutes is not None
                else None,
            }
        )
    return rows


def run_examples(profile: Profile, rules: list[Rule] | None = None) -> list[ExampleResult]:
    results = []
    for rule in rules or list(profile.rules):
        for example in rule.examples:
            one_rule = replace(profile, rules=(replace(rule, enabled=True),))
            with connect(":memory:", timezone=profile.site.timezone) as db:
                rows = example_contacts(example, profile.site.timezone)
                db.con.executemany(insert_values_sql("contacts", rows[0]), rows)
                judge(db, one_rule)
                severities = [row[0] for row in db.con.execute("SELECT severity FROM flag_rows").fetchall()]
            worst = worst_severity(severities) or "none"
            results.append(ExampleResult(rule.id, example, worst))
    return results
