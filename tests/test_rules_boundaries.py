"""Boundary tests: each Bunkyo threshold exactly, and just short of it (one second or one contact).

Tiers are inclusive (>=) except overstay grace periods, which must be exceeded (>). Windows are
inclusive at both ends: a contact exactly 30 days before another is within "any 30 days".

The off-hours rules (shipped switched off; run_examples switches each rule it judges on) meet each
edge of the business calendar: opening 08:30:00 is within hours, closing 17:15:00 is not; weekends,
public holidays and the closure days 12-29..01-03 are closed all day. The Setagaya profile's
department overrides meet theirs: 生活支援課's own long_visit tiers, and department_day_total
switched off there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kasuhara_metrics.judge.examples import run_examples
from kasuhara_metrics.rules import load_profile
from kasuhara_metrics.rules.model import Example, ExampleContact

PROFILE = load_profile()
SETAGAYA = load_profile(Path(__file__).parents[1] / "thresholds" / "setagaya.toml")
SECOND = 1 / 60


def call(at, talk=2.0, answered=True, outcome=None, **kw):
    return ExampleContact(
        offset_minutes=at,
        channel="call",
        talk_minutes=talk if answered else 0.0,
        answered=answered,
        outcome=outcome or ("answered" if answered else "busy"),
        **kw,
    )


def machine(at, **kw):
    """A call that reached only the closed-hours announcement."""
    return call(at, answered=False, outcome="machine", **kw)


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


def at(day, clock):
    """Minutes after an off-hours example's start (midnight, site time) to `clock` ("HH:MM:SS") `day` days on."""
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return day * DAY + hours * 60 + minutes + seconds * SECOND


# Off-hours examples start at midnight: "2026-09-01 00:00" is a Tuesday.
TUESDAY = "2026-09-01 00:00"
# Two answered calls after closing time on Tuesday and Wednesday: off_hours_contacts (3 contacts on
# at least 2 days within 30 days) fires at watch with one more off-hours contact, and not without.
TWO_EVENINGS = [call(at(0, "20:00:00")), call(at(1, "20:00:00"))]
# Calls to the announcement on three evenings: off_hours_attempts needs 8 on at least 3 days.
SEVEN_ATTEMPTS = [machine(at(day, f"{hour}:00:00")) for day, hour in ((0, 19), (0, 20), (0, 21), (1, 19), (1, 20))]
SEVEN_ATTEMPTS += [machine(at(2, "19:00:00")), machine(at(2, "20:00:00"))]

OFF_HOURS_CASES = [
    # closing time: 17:15:00 is after hours, 17:14:59 is not (Thursday)
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, call(at(2, "17:15:00"))]),
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, call(at(2, "17:14:59"))]),
    # opening time: 08:29:59 is before hours, 08:30:00 is not
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, call(at(2, "08:29:59"))]),
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, call(at(2, "08:30:00"))]),
    # a visit at noon on 敬老の日 (Monday 2026-09-21) counts; at noon on Thursday 09-24 it does not
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, visit(at(20, "12:00:00"))]),
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, visit(at(23, "12:00:00"))]),
    # Saturday 09-05 is closed all day; Friday 09-04 is not
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, call(at(4, "12:00:00"))]),
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, call(at(3, "12:00:00"))]),
    # the closure days: 12-29 (a Tuesday) and 01-03 are closed, 12-28 and 01-04 (Mondays) are not; 2026-01-02
    # is a Friday closed only as a closure day
    ("off_hours_contacts", "watch", "2026-12-21 00:00", [*TWO_EVENINGS, call(at(8, "12:00:00"))]),
    ("off_hours_contacts", "none", "2026-12-21 00:00", [*TWO_EVENINGS, call(at(7, "12:00:00"))]),
    ("off_hours_contacts", "watch", "2026-12-21 00:00", [*TWO_EVENINGS, call(at(13, "12:00:00"))]),
    ("off_hours_contacts", "none", "2026-12-21 00:00", [*TWO_EVENINGS, call(at(14, "12:00:00"))]),
    ("off_hours_contacts", "watch", "2025-12-22 00:00", [*TWO_EVENINGS, call(at(11, "12:00:00"))]),
    ("off_hours_contacts", "none", "2025-12-22 00:00", [*TWO_EVENINGS, call(at(14, "12:00:00"))]),
    # the tier: 3 contacts, not 2
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, call(at(2, "20:00:00"))]),
    ("off_hours_contacts", "none", TUESDAY, TWO_EVENINGS),
    # min_days: 3 contacts on 2 days, not on 1
    ("off_hours_contacts", "watch", TUESDAY, [*TWO_EVENINGS, call(at(1, "21:00:00"))]),
    (
        "off_hours_contacts",
        "none",
        TUESDAY,
        [call(at(0, "18:00:00")), call(at(0, "19:00:00")), call(at(0, "20:00:00"))],
    ),
    # the window: a contact exactly 30 days before the last is within it, one second more is not
    (
        "off_hours_contacts",
        "watch",
        TUESDAY,
        [call(at(0, "20:00:00")), call(at(15, "20:00:00")), call(at(30, "20:00:00"))],
    ),
    (
        "off_hours_contacts",
        "none",
        TUESDAY,
        [call(at(0, "20:00:00")), call(at(15, "20:00:00")), call(at(30, "20:00:01"))],
    ),
    # busy, unanswered and announcement-only calls are no answered contacts
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, call(at(2, "20:00:00"), answered=False)]),
    (
        "off_hours_contacts",
        "none",
        TUESDAY,
        [*TWO_EVENINGS, call(at(2, "20:00:00"), answered=False, outcome="no_answer")],
    ),
    ("off_hours_contacts", "none", TUESDAY, [*TWO_EVENINGS, machine(at(2, "20:00:00"))]),
    # attempts: 8 announcement-only calls on 3 days, not 7
    ("off_hours_attempts", "watch", TUESDAY, [*SEVEN_ATTEMPTS, machine(at(2, "21:00:00"))]),
    ("off_hours_attempts", "none", TUESDAY, SEVEN_ATTEMPTS),
    # min_days 3: 8 calls on 2 days do not fire
    (
        "off_hours_attempts",
        "none",
        TUESDAY,
        [*SEVEN_ATTEMPTS[:5], *[machine(at(1, f"{h}:30:00")) for h in (19, 20, 21)]],
    ),
    # a busy call and an answered call are no attempts; nor is the announcement within hours
    ("off_hours_attempts", "none", TUESDAY, [*SEVEN_ATTEMPTS, call(at(2, "21:00:00"), answered=False)]),
    ("off_hours_attempts", "none", TUESDAY, [*SEVEN_ATTEMPTS, call(at(2, "21:00:00"))]),
    ("off_hours_attempts", "none", TUESDAY, [*SEVEN_ATTEMPTS, machine(at(2, "17:14:59"))]),
    ("off_hours_attempts", "watch", TUESDAY, [*SEVEN_ATTEMPTS, machine(at(2, "17:15:00"))]),
]

WELFARE = "生活支援課"
SETAGAYA_CASES = [
    # long_visit at 生活支援課: its own tiers, watch 120 and alert 180 minutes
    ("long_visit", "none", [visit(0, talk=119, department=WELFARE)]),
    ("long_visit", "none", [visit(0, talk=120 - SECOND, department=WELFARE)]),
    ("long_visit", "watch", [visit(0, talk=120, department=WELFARE)]),
    ("long_visit", "watch", [visit(0, talk=179, department=WELFARE)]),
    ("long_visit", "watch", [visit(0, talk=180 - SECOND, department=WELFARE)]),
    ("long_visit", "alert", [visit(0, talk=180, department=WELFARE)]),
    # at any other department the rule's own: watch 60, alert 120
    ("long_visit", "none", [visit(0, talk=60 - SECOND, department="区民課")]),
    ("long_visit", "watch", [visit(0, talk=60, department="区民課")]),
    ("long_visit", "watch", [visit(0, talk=120 - SECOND, department="税務課")]),
    ("long_visit", "alert", [visit(0, talk=120, department="税務課")]),
    # department_day_total is switched off for 生活支援課, however long; 税務課 keeps it
    ("department_day_total", "none", [visit(0, talk=60, department=WELFARE), visit(120, talk=60, department=WELFARE)]),
    (
        "department_day_total",
        "none",
        [
            call(0, talk=30, department=WELFARE),
            visit(60, talk=4 * 60, department=WELFARE),
            call(6 * 60, department=WELFARE),
        ],
    ),
    (
        "department_day_total",
        "watch",
        [visit(0, talk=30, department="税務課"), visit(120, talk=30, department="税務課")],
    ),
]


def _judged(profile, rule_id, expect, contacts, start="2026-09-01 09:00"):
    rule = profile.rule(rule_id)
    example = Example(f"boundary {rule_id}", expect, tuple(contacts), start)
    [result] = run_examples(profile, [type(rule)(**{**rule.__dict__, "examples": (example,)})])
    return result.got


@pytest.mark.parametrize("rule_id,expect,contacts", CASES, ids=[f"{r}-{e}-{i}" for i, (r, e, _) in enumerate(CASES)])
def test_threshold_boundaries(rule_id, expect, contacts):
    assert _judged(PROFILE, rule_id, expect, contacts) == expect


@pytest.mark.parametrize(
    "rule_id,expect,start,contacts",
    OFF_HOURS_CASES,
    ids=[f"{r}-{e}-{i}" for i, (r, e, *_) in enumerate(OFF_HOURS_CASES)],
)
def test_off_hours_boundaries(rule_id, expect, start, contacts):
    assert _judged(PROFILE, rule_id, expect, contacts, start) == expect


@pytest.mark.parametrize(
    "rule_id,expect,contacts", SETAGAYA_CASES, ids=[f"{r}-{e}-{i}" for i, (r, e, _) in enumerate(SETAGAYA_CASES)]
)
def test_department_override_boundaries(rule_id, expect, contacts):
    assert _judged(SETAGAYA, rule_id, expect, contacts) == expect


@pytest.mark.parametrize("rule_id", [r.id for r in PROFILE.rules])
def test_every_shipped_example_passes(rule_id):
    results = run_examples(PROFILE, [PROFILE.rule(rule_id)])
    assert results and all(r.passed for r in results), [str(r) for r in results if not r.passed]
