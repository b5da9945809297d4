"""Every rule kind's SQL agrees with its plain-Python reference (tests/reference.py) on random
contact histories: the same episodes, windows, severities and values, and the department override
and threshold each flag was judged by.

The histories cross a weekend, the 2026-09-21..23 holidays and the year-end closure, start at
07:00-20:00 (often exactly at opening or closing time) and hold calls that reached only a machine,
so the off-hours rules meet both sides of every part of the business calendar. The rules are the
Bunkyo profile's (its off-hours rules are shipped switched off: they must make no flags), tighter
copies of them that fire often, and copies of those with department overrides.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import RULE_KINDS, load_profile
from kasuhara_metrics.rules.kinds.distinct_window import BITS
from kasuhara_metrics.rules.model import DepartmentOverride

from . import reference

TZ = ZoneInfo("Asia/Tokyo")
BASE = datetime(2026, 9, 1, tzinfo=TZ)  # a Tuesday
# Days after BASE: the first week (Saturday 5th, Sunday 6th); Thursday 17th to Wednesday 23rd (a
# weekend, then 敬老の日, 国民の休日, 秋分の日); Monday 2026-12-28 to Monday 2027-01-04 (closure days
# 12-29..01-03, 元日 among them). The first week twice: business days are the rarer ones.
DAYS = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(16, 23), st.integers(118, 125))
OPENING, CLOSING = 8 * 60 + 30, 17 * 60 + 15
# the minute of opening or closing time, or the one before (with second 59: one second before)
BOUNDARY_MINUTES = st.sampled_from([OPENING - 1, OPENING, CLOSING - 1, CLOSING])
BUNKYO = load_profile()


def _tighter(rule):
    """The same rule with small thresholds, so random histories reach them often."""
    params, tiers = dict(rule.params), dict(rule.tiers)
    if rule.kind == "long_contact":
        tiers = {"watch": 10, "alert": 20}
    elif rule.kind == "count_window":
        params, tiers = {**params, "period": "sliding", "window_hours": 3}, {"watch": 3, "alert": 4}
    elif rule.kind == "redial":
        tiers = {"watch": 1, "alert": 2}
    elif rule.kind == "distinct_window":
        params, tiers = {**params, "min_contacts": 2, "window_days": 3}, {"watch": 2, "alert": 3}
    elif rule.kind == "daily_total":
        tiers = {"watch": 20, "alert": 40}
    elif rule.kind == "same_topic":
        tiers = {"watch": [{"days": 1, "contacts": 2}], "alert": [{"days": 3, "contacts": 3}]}
    elif rule.kind == "off_hours":
        # answered: 2 and 4 contacts on 2 days within 4 days; attempts: 1 and 3 within a day, one day is enough
        answered = params["counts"] == "answered"
        params = {**params, "window_days": 4 if answered else 1, "min_days": 2 if answered else 1}
        tiers = {"watch": 2, "alert": 4} if answered else {"watch": 1, "alert": 3}
    return replace(rule, id=rule.id + "_tight", params=params, tiers=tiers, examples=(), enabled=True)


# The kinds measured per department take other tiers at 福祉課, and at 区民課 only an alert tier (the
# watch tier does not apply there) or, for overstay, watch from the first second late.
OVERRIDE_TIERS = {
    "long_contact": {"福祉課": {"watch": 20, "alert": 60}, "区民課": {"alert": 30}},
    "daily_total": {"福祉課": {"watch": 40, "alert": 90}, "区民課": {"alert": 60}},
    "overstay": {"福祉課": {"watch": 30}, "区民課": {"watch": 0}},
}


def _overridden(rule):
    """The rule with department overrides: other tiers (OVERRIDE_TIERS), and switched off for 住宅課."""
    overrides = [
        DepartmentOverride(f"ov_{number}", (department,), "test: other tiers", tiers)
        for number, (department, tiers) in enumerate(OVERRIDE_TIERS.get(rule.kind, {}).items())
    ]
    assert bool(overrides) == RULE_KINDS[rule.kind].per_department
    switched_off = DepartmentOverride("housing_off", ("住宅課",), "test: switched off", None)
    return replace(rule, id=rule.id + "_ov", overrides=(*overrides, switched_off))


TIGHT = tuple(_tighter(r) for r in BUNKYO.rules)
EXTRA = (
    # one off-hours contact is enough: any contact put on the wrong side of the calendar changes the flags
    replace(
        BUNKYO.rule("off_hours_contacts"),
        id="off_hours_single",
        enabled=True,
        params={"counts": "answered", "window_days": 1, "min_days": 1},
        tiers={"watch": 1, "alert": 3},
        examples=(),
    ),
    # answered calls only, counted over exactly one day: the window edge is common at the sampled minutes
    replace(
        BUNKYO.rule("off_hours_contacts"),
        id="off_hours_calls_day",
        enabled=True,
        params={"channel": "call", "counts": "answered", "window_days": 1, "min_days": 1},
        tiers={"watch": 2, "alert": 3},
        examples=(),
    ),
)
PROFILE = replace(BUNKYO, rules=BUNKYO.rules + TIGHT + EXTRA + tuple(_overridden(r) for r in TIGHT + EXTRA))

contact = st.fixed_dictionaries(
    {
        "gap": st.integers(0, 8),  # minutes after the previous contact of the burst ended
        "talk": st.sampled_from([0, 1, 5, 10, 19, 20, 21, 29, 30, 31, 59, 60, 61, 120]),
        "channel": st.sampled_from(["call", "call", "visit"]),
        "answered": st.booleans(),
        "outcome": st.sampled_from(["busy", "no_answer", "machine", "machine"]),  # of an unanswered call
        "department": st.sampled_from(["区民課", "税務課", "福祉課", "住宅課", None]),
        "kind": st.sampled_from(["complaint", "demand", "inquiry", "procedure", "consultation", "unknown"]),
        "topic": st.sampled_from(["住民税", " 住民税 ", "保育園", None]),
        "exit_after": st.one_of(st.none(), st.integers(0, 40)),
    }
)
burst = st.fixed_dictionaries(
    {
        "requester": st.sampled_from(["A", "B"]),
        "day": DAYS,
        "minute": st.one_of(st.integers(7 * 60, 20 * 60), BOUNDARY_MINUTES, BOUNDARY_MINUTES),  # 2 in 3 at one
        "second": st.sampled_from([0, 0, 0, 59]),
        # whole days after the burst before, by its requester at the same time of day (who calls at one
        # hour every day): the windows of 1, 3 and 4 days of the tighter rules then reach back exactly
        # to a contact
        "after": st.sampled_from([None, None, 1, 3, 4]),
        "contacts": st.lists(contact, min_size=1, max_size=6),
    }
)


def _one_call(requester, day, minute, second=0, after=None, **contact):
    """A burst of one call (answered unless answered=False: then it reached only the announcement)."""
    call = {"gap": 0, "talk": 5, "channel": "call", "answered": True, "outcome": "machine", "department": "区民課"}
    call |= {"kind": "complaint", "topic": None, "exit_after": None, **contact}
    return {"requester": requester, "day": day, "minute": minute, "second": second, "after": after, "contacts": [call]}


# Every edge of the business calendar, always tried (random histories meet each only now and then):
# an answered call (A) and a call to the announcement (B) one second before and at opening and
# closing time on weekdays, at noon on a Saturday, a holiday, 12-28, 12-29, 01-03 and 01-04; and B's
# call exactly one day after the previous one, at the edge of the one-day windows.
CALENDAR_EDGES = [
    calls
    for day, minute, second in [
        (0, OPENING - 1, 59),
        (1, OPENING, 0),
        (2, CLOSING - 1, 59),
        (3, CLOSING, 0),
        (4, 12 * 60, 0),
        (20, 12 * 60, 0),
        (118, 12 * 60, 0),
        (119, 12 * 60, 0),
        (124, 12 * 60, 0),
        (125, 12 * 60, 0),
    ]
    for calls in (_one_call("A", day, minute, second), _one_call("B", day, minute, second, answered=False))
]
CALENDAR_EDGES.insert(8, _one_call("B", 0, 0, after=1, answered=False))  # after B's 17:15:00 on day 3


def build(bursts):
    rows, number, previous, requester = [], 0, None, None
    for b in bursts:
        if b["after"] and previous:
            at = previous = previous + timedelta(days=b["after"])
        else:
            at = previous = BASE + timedelta(days=b["day"], minutes=b["minute"], seconds=b["second"])
            requester = b["requester"]
        for c in b["contacts"]:
            number += 1
            answered = c["answered"] or c["channel"] == "visit"
            talk = timedelta(minutes=c["talk"] if answered else 0)
            ended = at + (talk if answered else timedelta(seconds=20))
            rows.append(
                {
                    "contact_id": f"c{number:04d}",
                    "channel": c["channel"],
                    "requester_key": "R" + requester,
                    "caller_class": "external",
                    "direction": "inbound" if c["channel"] == "call" else "visit",
                    "department": c["department"],
                    "kind": c["kind"] if c["channel"] == "visit" else "unknown",
                    "topic": c["topic"] if c["channel"] == "visit" else None,
                    "started_at": at,
                    "answered_at": at if answered else None,
                    "ended_at": ended,
                    "talk_s": int(talk.total_seconds()),
                    "span_s": int((ended - at).total_seconds()),
                    "answered": answered,
                    "outcome": "answered" if answered else c["outcome"],
                    "legs": 1,
                    "source_ids": [f"s{number}"],
                    "exit_requested_at": at + timedelta(minutes=c["exit_after"])
                    if c["exit_after"] is not None and c["channel"] == "visit"
                    else None,
                }
            )
            at = ended + timedelta(minutes=c["gap"])
    return rows


def judged_view(rows):
    """The columns judge adds in `_judged`, computed the plain way."""
    out = []
    for r in rows:
        day = r["started_at"].astimezone(TZ).date()
        topic = " ".join(r["topic"].split()).lower() if r["topic"] and r["topic"].strip() else None
        out.append(
            {**r, "local_day": day, "topic_key": topic, "closing_at": datetime.combine(day, time(17, 15), tzinfo=TZ)}
        )
    return out


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(bursts=st.lists(burst, min_size=1, max_size=8))
@example(bursts=CALENDAR_EDGES)
def test_sql_rules_agree_with_the_reference(bursts):
    _agree_with_the_reference(build(bursts), PROFILE)


DISTINCT_RULES = replace(PROFILE, rules=tuple(r for r in PROFILE.rules if r.kind == "distinct_window"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(bursts=st.lists(burst, min_size=1, max_size=8), others=st.sampled_from([0, BITS - 4, BITS + 3]))
def test_distinct_windows_agree_with_the_reference_beyond_one_bit_per_value(bursts, others):
    """distinct_window gives each value a bit while a judge looks at no more than BITS values, and
    counts them otherwise: a third requester's contacts with `others` departments decide which."""
    rows = build(bursts)
    elsewhere = BASE + timedelta(days=200)
    for number in range(others):
        at = elsewhere + timedelta(days=number)  # one a day: the third requester meets the rule too
        rows.append(
            rows[0]
            | {
                "contact_id": f"other{number}",
                "requester_key": "RC",
                "channel": "visit",
                "kind": "complaint",
                "department": f"課{number:03d}",
                "started_at": at,
                "answered_at": at,
                "ended_at": at + timedelta(minutes=5),
                "exit_requested_at": None,
            }
        )
    event(f"{others} more departments")
    _agree_with_the_reference(rows, DISTINCT_RULES)


def _agree_with_the_reference(rows, profile):
    with connect(":memory:") as db:
        db.con.register("_generated", pa.Table.from_pylist(rows))
        db.con.execute("INSERT INTO contacts BY NAME SELECT * FROM _generated")
        judge(db, profile)
        got = {}
        for rule_id, requester, group, first, last, severity, value, threshold, override in db.con.execute(
            "SELECT rule_id, requester_key, group_key, first_at, last_at, severity, value, threshold, "
            "threshold_override FROM flag_rows"
        ).fetchall():
            flags = got.setdefault(rule_id, {})
            key = (requester, group, first, last, severity, round(value, 6))
            assert key not in flags, (rule_id, key)
            flags[key] = (override, round(threshold, 6))
    contacts = judged_view(rows)
    for rule in profile.rules:
        expected = reference.episodes(contacts, rule, profile.site)
        flags = got.get(rule.id, {})
        assert set(flags) == set(expected), rule.id
        for key, chosen in flags.items():
            # the override and threshold of the episode's worst hit (any of them when hits tie)
            assert chosen in expected[key], (rule.id, key, chosen, expected[key])
        if flags:
            event(f"{rule.id} flags")
        if any(override for override, _ in flags.values()):
            event(f"{rule.id} flags by an override")
