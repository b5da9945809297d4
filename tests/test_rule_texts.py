"""Each rule kind renders its thresholds and explains a near miss, in English and in Japanese.

The texts come from the kind alone (rules/kinds), so explain, flag details and the report say
the same thing about a rule, and a new kind cannot be added without saying how it reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.levels import (
    CATEGORIES,
    SEVERITIES,
    category_rank_sql,
    severity_rank,
    severity_rank_sql,
    worst_severity,
)
from kasuhara_metrics.judge import judge
from kasuhara_metrics.judge.explain import explain
from kasuhara_metrics.report.data import detail_ja
from kasuhara_metrics.rules import RULE_KINDS, load_profile
from kasuhara_metrics.rules.kinds import NearMissValues
from kasuhara_metrics.rules.model import DepartmentOverride

from .test_judge import add_contacts

PROFILE = load_profile()
TZ = ZoneInfo("Asia/Tokyo")
KEY = "R0123456789abcdef"
DAY = date(2026, 9, 1)


def rule_of(kind: str, **changes):
    rule = next(r for r in PROFILE.rules if r.kind == kind)
    return replace(rule, **changes)


# kind -> (tiers, English text of watch, Japanese text of watch)
TIER_TEXTS = {
    "long_contact": ({"watch": 25, "alert": 50}, "at least 25 minutes", "25分以上"),
    "daily_total": ({"watch": 45}, "at least 45 minutes", "45分以上"),
    "overstay": ({"watch": 12}, "more than 12 minutes", "12分超"),
    "redial": ({"watch": 4, "alert": 8}, "at least 4 redials", "4回以上"),
    "distinct_window": ({"watch": 2.5}, "at least 2.5 departments", "2.5部署以上"),
    "count_window": ({"watch": 9}, "at least 9 contacts", "9件以上"),
    "off_hours": ({"watch": 3}, "at least 3 contacts", "3件以上"),
    "same_topic": (
        {"watch": [{"days": 3, "contacts": 2}, {"days": 14, "contacts": 4}]},
        "2 contacts within 3 days or 4 contacts within 14 days",
        "3日で2件 または 14日で4件",
    ),
}


def test_every_kind_says_how_its_tiers_read():
    assert set(TIER_TEXTS) == set(RULE_KINDS), "a new kind needs its texts tested here"


@pytest.mark.parametrize("kind", sorted(TIER_TEXTS))
def test_a_kind_renders_its_tier_in_english_and_japanese(kind):
    tiers, english, japanese = TIER_TEXTS[kind]
    rule = rule_of(kind, tiers=tiers)
    assert RULE_KINDS[kind].threshold_text(rule, "watch") == english
    assert RULE_KINDS[kind].threshold_text_ja(rule, "watch") == japanese


def test_a_stored_flag_shows_the_threshold_it_fired_at_not_todays_tier():
    rule = rule_of("long_contact", tiers={"watch": 25, "alert": 50})
    flag = {"unit": "minutes", "value": 41.6, "severity": "watch", "threshold": 40.0, "group_key": None}
    assert detail_ja(flag, rule) == "42分（注意の基準: 40分以上）"
    strict = rule_of("overstay", tiers={"watch": 12})
    assert detail_ja(flag | {"threshold": 15.0}, strict) == "42分（注意の基準: 15分超）"
    # a rule no longer in the profile: the unit still reads in Japanese
    assert detail_ja(flag | {"unit": "redials", "value": 3.0}, None) == "3回（注意の基準: 40回以上）"


NEAR = NearMissValues(value=2, needed=3, day=DAY, contacts=1)


def test_near_misses_read_in_both_languages():
    redial = RULE_KINDS["redial"]
    rule = rule_of("redial", tiers={"watch": 3, "alert": 6})
    assert redial.near_miss_text(rule, NEAR) == "2 of 3 redials on 2026-09-01"
    assert redial.near_miss_text(rule, NEAR, "ja") == "2026-09-01に2回（注意の基準: 3回以上）"
    overstay = RULE_KINDS["overstay"]
    rule = rule_of("overstay", tiers={"watch": 15})
    late = replace(NEAR, needed=15)
    assert overstay.near_miss_text(rule, late) == "2 minutes on 2026-09-01; 注意 needs more than 15 minutes"
    assert overstay.near_miss_text(rule, late, "ja") == "2026-09-01に2分（注意の基準: 15分超）"
    # measured against a department override's tiers: its number and its departments
    interviews = DepartmentOverride("long_interviews", ("生活支援課",), "r", {"alert": 180})
    rule = rule_of("long_contact", tiers={"watch": 60, "alert": 120}, overrides=(interviews,))
    near = NearMissValues(value=110, needed=180, day=DAY, contacts=1, severity="alert", override_id="long_interviews")
    assert RULE_KINDS["long_contact"].near_miss_text(rule, near) == (
        "110 of 180 minutes on 2026-09-01 (override long_interviews for 生活支援課)"
    )
    assert RULE_KINDS["long_contact"].near_miss_text(rule, near, "ja") == (
        "2026-09-01に110分（警告の基準: 180分以上・生活支援課の基準）"
    )
    daily = RULE_KINDS["daily_total"]
    rule = rule_of("daily_total", tiers={"watch": 3}, params={"min_contacts": 2})
    assert daily.near_miss_text(rule, NEAR) == "2 of 3 minutes on 2026-09-01, over 1 of the 2 contacts needed"
    assert daily.near_miss_text(rule, NEAR, "ja") == "2026-09-01に2分（注意の基準: 3分以上）、必要な2件のうち1件の対応"


def visit(n: int, start: datetime, minutes: float, topic: str | None = None) -> dict:
    return {
        "contact_id": f"v{n}",
        "channel": "visit",
        "requester_key": KEY,
        "direction": "visit",
        "outcome": "visit",
        "kind": "complaint",
        "topic": topic,
        "started_at": start,
        "ended_at": start + timedelta(minutes=minutes),
    }


def test_explain_gives_each_near_miss_in_english_and_japanese():
    redial = rule_of("redial")
    same_topic = rule_of("same_topic", tiers={"watch": [{"days": 7, "contacts": 3}, {"days": 30, "contacts": 5}]})
    profile = replace(PROFILE, rules=(redial, same_topic))
    t0 = datetime(2026, 9, 1, 10, 0, tzinfo=TZ)
    calls = [
        {
            "contact_id": f"c{n}",
            "requester_key": KEY,
            "started_at": t0 + timedelta(minutes=5 * n),
            "ended_at": t0 + timedelta(minutes=5 * n + 2),
        }
        for n in range(3)
    ]  # an answered call and two redials
    visits = [visit(1, t0 + timedelta(days=1), 20, "保育園"), visit(2, t0 + timedelta(days=2), 20, "保育園")]
    with connect(":memory:") as db:
        add_contacts(db, calls + visits)
        judge(db, profile)
        misses = {m.rule_id: m for m in explain(db, KEY, profile).near_misses}
    assert misses[redial.id].text == "2 of 3 redials on 2026-09-01"
    assert misses[redial.id].text_ja == "2026-09-01に2回（注意の基準: 3回以上）"
    # Two visits on one topic are closer to 3 in 7 days than to 5 in 30: that window is the one named.
    assert misses[same_topic.id].text == "2 of 3 contacts on 2026-09-03"
    assert misses[same_topic.id].text_ja == "2026-09-03に2件（注意の基準: 7日で3件 または 30日で5件）"
    assert misses[same_topic.id].needed == 3


def test_severities_rank_as_declared_in_python_and_in_sql():
    assert [severity_rank(s) for s in SEVERITIES] == list(range(len(SEVERITIES)))
    assert worst_severity(["watch", "alert", "watch"]) == "alert" and worst_severity([]) is None
    with connect(":memory:") as db:
        ranked = db.con.execute(
            f"SELECT s FROM unnest({list(SEVERITIES)[::-1]}) t(s) ORDER BY {severity_rank_sql('s')}"
        ).fetchall()
        assert [row[0] for row in ranked] == list(SEVERITIES)
        ordered = db.con.execute(
            f"SELECT c FROM unnest({list(CATEGORIES)[::-1]}) t(c) ORDER BY {category_rank_sql('c')}"
        ).fetchall()
        assert [row[0] for row in ordered] == list(CATEGORIES)


def test_the_released_flags_view_ranks_severities_as_declared():
    # The view's "got worse since the review" is released SQL (watch -> alert): a change to the
    # declared severities needs a migration that re-creates it.
    from kasuhara_metrics.common import schema

    assert SEVERITIES == ("watch", "alert")
    assert "(f.severity = 'alert' AND r.flag_severity = 'watch')" in schema._MIGRATION_8_SQL


def test_kinds_that_share_a_unit_share_its_japanese():
    japanese: dict[str, set[str]] = {}
    for kind in RULE_KINDS.values():
        japanese.setdefault(kind.unit, set()).add(kind.unit_ja)
    assert all(len(names) == 1 for names in japanese.values()), japanese


def redials(first: int, start: datetime, count: int) -> list[dict]:
    """An answered 2-minute call and `count` redials, each 3 minutes after the last ended."""
    return [
        {
            "contact_id": f"c{first + n}",
            "requester_key": KEY,
            "started_at": start + timedelta(minutes=5 * n),
            "ended_at": start + timedelta(minutes=5 * n + 2),
        }
        for n in range(count + 1)
    ]


def test_of_equally_close_near_misses_explain_names_the_latest(tmp_path):
    profile = replace(PROFILE, rules=(rule_of("redial"),))
    t0 = datetime(2026, 9, 1, 10, 0, tzinfo=TZ)
    with connect(str(tmp_path / "k.duckdb")) as db:
        # two redials on the 1st and two on the 8th: as close to 3 on either day
        add_contacts(db, redials(0, t0, 2) + redials(10, t0 + timedelta(days=7), 2))
        judge(db, profile)
        for _ in range(3):
            (miss,) = explain(db, KEY, profile).near_misses
            assert miss.text == "2 of 3 redials on 2026-09-08"


def test_explain_speaks_japanese_when_asked(tmp_path):
    from click.testing import CliRunner

    from kasuhara_metrics.cli import main

    path = str(tmp_path / "k.duckdb")
    with connect(path) as db:
        add_contacts(db, redials(0, datetime(2026, 9, 1, 10, 0, tzinfo=TZ), 2))
    runner = CliRunner()
    english = runner.invoke(main, ["--db", path, "explain", KEY, "--format", "csv"])
    japanese = runner.invoke(main, ["--db", path, "explain", KEY, "--format", "csv", "--lang", "ja"])
    assert english.exit_code == 0 and japanese.exit_code == 0, english.output + japanese.output
    assert "immediate_redial,2 of 3 redials on 2026-09-01" in english.output
    assert "immediate_redial,2026-09-01に2回（注意の基準: 3回以上）" in japanese.output
    table = runner.invoke(main, ["--db", path, "explain", KEY, "--lang", "ja"])
    assert "2026-09-01に2回" in table.output
