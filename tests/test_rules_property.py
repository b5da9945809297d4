"""Every rule kind's SQL agrees with its plain-Python reference (tests/reference.py) on random
contact histories: the same episodes, windows, severities and values."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from . import reference

TZ = ZoneInfo("Asia/Tokyo")
BASE = datetime(2026, 9, 1, tzinfo=TZ)
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
    return replace(rule, id=rule.id + "_tight", params=params, tiers=tiers, examples=())


PROFILE = replace(BUNKYO, rules=BUNKYO.rules + tuple(_tighter(r) for r in BUNKYO.rules))

contact = st.fixed_dictionaries(
    {
        "gap": st.integers(0, 8),  # minutes after the previous contact of the burst ended
        "talk": st.sampled_from([0, 1, 5, 10, 19, 20, 21, 29, 30, 31, 59, 60, 61, 120]),
        "channel": st.sampled_from(["call", "call", "visit"]),
        "answered": st.booleans(),
        "department": st.sampled_from(["区民課", "税務課", "福祉課", "住宅課", None]),
        "kind": st.sampled_from(["complaint", "demand", "inquiry", "procedure", "consultation", "unknown"]),
        "topic": st.sampled_from(["住民税", " 住民税 ", "保育園", None]),
        "exit_after": st.one_of(st.none(), st.integers(0, 40)),
    }
)
burst = st.fixed_dictionaries(
    {
        "requester": st.sampled_from(["A", "B"]),
        "day": st.integers(0, 6),
        "minute": st.integers(8 * 60, 18 * 60),
        "contacts": st.lists(contact, min_size=1, max_size=6),
    }
)


def build(bursts):
    rows, number = [], 0
    for b in bursts:
        at = BASE + timedelta(days=b["day"], minutes=b["minute"])
        for c in b["contacts"]:
            number += 1
            answered = c["answered"] or c["channel"] == "visit"
            talk = timedelta(minutes=c["talk"] if answered else 0)
            ended = at + (talk if answered else timedelta(seconds=20))
            rows.append(
                {
                    "contact_id": f"c{number:04d}",
                    "channel": c["channel"],
                    "requester_key": "R" + b["requester"],
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
                    "outcome": "answered" if answered else "busy",
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
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(bursts=st.lists(burst, min_size=1, max_size=8))
def test_sql_rules_agree_with_the_reference(bursts):
    rows = build(bursts)
    with connect(":memory:") as db:
        db.con.register("_generated", pa.Table.from_pylist(rows))
        db.con.execute("INSERT INTO contacts BY NAME SELECT * FROM _generated")
        judge(db, PROFILE)
        got = {}
        for rule_id, requester, group, first, last, severity, value in db.con.execute(
            "SELECT rule_id, requester_key, group_key, first_at, last_at, severity, value FROM flag_rows"
        ).fetchall():
            got.setdefault(rule_id, set()).add((requester, group, first, last, severity, round(value, 6)))
    contacts = judged_view(rows)
    for rule in PROFILE.rules:
        expected = reference.episodes(contacts, rule)
        assert got.get(rule.id, set()) == expected, rule.id
