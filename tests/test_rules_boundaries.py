"""Boundary tests: each Bunkyo threshold exactly, and just short of it (one second or one contact).

Tiers are inclusive (>=) except overstay grace periods, which must be exceeded (>). Windows are
inclusive at both ends: a contact exactly 30 days before another is within "any 30 days".
"""

from __future__ import annotations

import pytest

from kasuhara_metrics.judge.examples import run_examples
from kasuhara_metrics.rules import load_profile
from kasuhara_metrics.rules.model import Example, ExampleContact

PROFILE = load_profile()
SECOND = 1 / 60


def call(at, talk=2.0, answered=True, **kw):
    return ExampleContact(
        offset_minutes=at,
        channel="call",
        talk_minutes=talk if answered else 0.0,
        answered=answered,
        outcome="answered" if answered else "busy",
        **kw,
    )


def visit(at, talk=10.0, **kw):
    return ExampleContact(offset_minutes=at, channel="visit", talk_minutes=talk, **kw)


def redials(count, gap=5.0):
    """An answered call followed by `count` redials, each `gap` minutes after the previous end."""
    contacts, at = [], 0.0
    for _ in range(count + 1):
        contacts.append(call(at, talk=2.0))
        at += 2.0 + gap
    return contacts


DAY = 1440.0
CASES = [
    ("long_call", "watch", [call(0, talk=30)]),
    ("long_call", "none", [call(0, talk=30 - SECOND)]),
    ("long_call", "alert", [call(0, talk=60)]),
    ("long_call", "watch", [call(0, talk=60 - SECOND)]),
    ("long_visit", "watch", [visit(0, talk=60)]),
    ("long_visit", "none", [visit(0, talk=60 - SECOND)]),
    ("long_visit", "alert", [visit(0, talk=120)]),
    ("department_day_total", "watch", [call(0, talk=30, department="税務課"), visit(60, talk=30, department="税務課")]),
    (
        "department_day_total",
        "none",
        [call(0, talk=30, department="税務課"), visit(60, talk=30 - SECOND, department="税務課")],
    ),
    # one day is a site-local calendar day: 23:30 and 00:30 are two days
    (
        "department_day_total",
        "none",
        [call(14 * 60 + 30, talk=40, department="税務課"), call(15 * 60 + 30, talk=40, department="税務課")],
    ),
    ("overstay_after_closing", "none", [visit(0, talk=8 * 60 + 15 + 15)]),  # ends 17:30 exactly
    ("overstay_after_closing", "watch", [visit(0, talk=8 * 60 + 15 + 15 + SECOND)]),
    ("overstay_after_exit_request", "none", [visit(0, talk=40, exit_request_minutes=30)]),
    ("overstay_after_exit_request", "watch", [visit(0, talk=40 + SECOND, exit_request_minutes=30)]),
    ("immediate_redial", "watch", redials(3, gap=5.0)),  # gap exactly 5 minutes
    ("immediate_redial", "none", redials(3, gap=5.0 + SECOND)),
    ("immediate_redial", "none", redials(2)),
    ("immediate_redial", "alert", redials(6)),
    ("immediate_redial", "watch", redials(5)),
    (
        "cross_department",
        "watch",
        [
            call(0, department="税務課"),
            call(DAY, department="区民課"),
            call(2 * DAY, department="福祉課"),
            call(3 * DAY, department="税務課"),
            call(30 * DAY, department="区民課"),
        ],
    ),
    (
        "cross_department",
        "none",
        [
            call(0, department="税務課"),
            call(DAY, department="区民課"),
            call(2 * DAY, department="福祉課"),
            call(3 * DAY, department="税務課"),
            call(30 * DAY + SECOND, department="区民課"),
        ],
    ),
    (
        "cross_department",
        "none",
        [
            call(0, department="税務課"),
            call(DAY, department="区民課"),
            call(2 * DAY, department="福祉課"),
            call(3 * DAY, department="税務課"),
        ],
    ),
    (
        "cross_department",
        "none",
        [
            call(0, department="税務課"),
            call(DAY, department="区民課"),
            call(2 * DAY, department="税務課"),
            call(3 * DAY, department="税務課"),
            call(4 * DAY, department="区民課"),
        ],
    ),
    ("same_topic", "watch", [visit(0, topic="住民税"), visit(3 * DAY, topic="住民税"), visit(7 * DAY, topic="住民税")]),
    (
        "same_topic",
        "none",
        [visit(0, topic="住民税"), visit(3 * DAY, topic="住民税"), visit(7 * DAY + SECOND, topic="住民税")],
    ),
    ("same_topic", "watch", [visit(d * DAY, topic="住民税") for d in (0, 8, 16, 24, 30)]),
    ("same_topic", "none", [visit(d * DAY, topic="住民税") for d in (0, 8, 16, 24, 30.01)]),
    ("same_topic", "none", [visit(0, topic="住民税"), visit(DAY, topic="保育園"), visit(2 * DAY, topic="住民税")]),
    ("frequent_calls", "watch", [call(i * 30) for i in range(10)]),
    ("frequent_calls", "none", [call(i * 30) for i in range(9)]),
    ("frequent_calls", "none", [call(14 * 60 + i * 10) for i in range(10)]),  # from 23:00: across midnight, two days
]


@pytest.mark.parametrize("rule_id,expect,contacts", CASES, ids=[f"{r}-{e}-{i}" for i, (r, e, _) in enumerate(CASES)])
def test_threshold_boundaries(rule_id, expect, contacts):
    rule = PROFILE.rule(rule_id)
    example = Example(f"boundary {rule_id}", expect, tuple(contacts))
    [result] = run_examples(PROFILE, [type(rule)(**{**rule.__dict__, "examples": (example,)})])
    assert result.got == expect


@pytest.mark.parametrize("rule_id", [r.id for r in PROFILE.rules])
def test_every_shipped_example_passes(rule_id):
    results = run_examples(PROFILE, [PROFILE.rule(rule_id)])
    assert results and all(r.passed for r in results), [str(r) for r in results if not r.passed]
