"""rules/load.py: a profile is validated data; every problem is reported with its line and fix."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.errors import ProfileError
from kasuhara_metrics.rules import check_profile, load_profile, minutes_of
from kasuhara_metrics.rules.model import Rule

from .conftest import write

GOOD = """
[profile]
name = "test"
version = "1"

[rules.long_call]
category = "拘束"
behaviour = "長時間にわたる電話"
kind = "long_contact"
description = "A long call."
params = { channel = "call" }
tiers = { watch = 30, alert = 60 }
sources = ["a source"]
"""


def test_the_default_profile_is_valid_and_cites_sources():
    profile = load_profile()
    assert profile.name == "bunkyo" and len(profile.rules) >= 9
    behaviours = {r.behaviour for r in profile.rules}
    assert {
        "長時間にわたる対応の強要",
        "長時間にわたる電話",
        "不退去・居座り",
        "電話を切ってもすぐにかけてくる",
        "複数部署にまたがる複数回のクレーム",
        "同様の内容の質問・要求を執拗に繰り返す",
    } <= behaviours
    assert all(r.sources and r.examples for r in profile.rules)
    assert {r.category for r in profile.rules} == {"拘束", "繰り返し"}


def test_a_good_profile_loads(tmp_path):
    profile = load_profile(write(tmp_path, "p.toml", GOOD))
    assert profile.rule("long_call").tiers == {"watch": 30, "alert": 60}


def test_every_problem_is_reported_at_once_with_its_line(tmp_path):
    bad = (
        GOOD.replace('kind = "long_contact"', 'kind = "long_contct"').replace(
            "tiers = { watch = 30, alert = 60 }", "tiers = { watch = 60, alert = 30 }"
        )
        + """
[rules.redial]
category = "拘束れ"
behaviour = "電話を切ってもすぐにかけてくる"
kind = "redial"
description = "x"
params = { gap_minuts = 5 }
tiers = { watch = 3, severe = 6 }
sources = []
"""
    )
    path = write(tmp_path, "bad.toml", bad)
    profile, issues = check_profile(path)
    assert profile is None
    text = [str(i) for i in issues]
    assert any("unknown rule kind 'long_contct'" in t and "bad.toml:9" in t for t in text), text
    assert any("category must be one of 拘束, 繰り返し" in t and "bad.toml:16" in t for t in text), text
    assert any("unknown parameter 'gap_minuts' for kind redial" in t and "bad.toml:20" in t for t in text), text
    assert any("tier 'severe' is not a severity" in t for t in text), text
    assert any("sources must list where the numbers come from" in t for t in text), text
    with pytest.raises(ProfileError, match="problems"):
        load_profile(path)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            ("tiers = { watch = 30, alert = 60 }", "tiers = { watch = 60, alert = 30 }"),
            "alert (30) must be above watch (60)",
        ),
        (("tiers = { watch = 30, alert = 60 }", 'tiers = { watch = "30" }'), "must be a number of minutes"),
        (('params = { channel = "call" }', 'params = { channel = "fax" }'), "'fax' is not one of call, visit, any"),
        (('category = "拘束"', ""), "category is required"),
        (("[rules.long_call]", "[rules.Long-Call]"), "must be lower-case letters"),
        (('name = "test"', 'name = "test"\nowner = "me"'), "unknown key 'profile.owner'"),
    ],
)
def test_single_problems(tmp_path, change, message):
    _, issues = check_profile(write(tmp_path, "p.toml", GOOD.replace(*change)))
    assert any(message in str(i) for i in issues), [str(i) for i in issues]


def test_examples_are_checked(tmp_path):
    text = (
        GOOD
        + """
[[rules.long_call.examples]]
expect = "severe"
contacts = [{ at = "0m", talk = "abc" }]
"""
    )
    _, issues = check_profile(write(tmp_path, "p.toml", text))
    messages = " ".join(str(i) for i in issues)
    assert "expect must be watch, alert or none" in messages and "are minutes or durations" in messages


def test_a_toml_syntax_error_names_line_and_column(tmp_path):
    _, issues = check_profile(write(tmp_path, "p.toml", GOOD + "\n[rules.x\n"))
    assert "invalid TOML" in str(issues[0]) and "p.toml:15" in str(issues[0])


def test_rule_content_hash_changes_with_what_it_judges():
    rule = load_profile().rule("long_call")
    same = Rule(**{**rule.__dict__, "description": "reworded", "sources": ("another",)})
    changed = Rule(**{**rule.__dict__, "tiers": {"watch": 31, "alert": 60}})
    assert same.content_hash == rule.content_hash
    assert changed.content_hash != rule.content_hash


@pytest.mark.parametrize(
    "text,minutes", [(30, 30.0), ("90m", 90.0), ("2h", 120.0), ("1d 2h", 1560.0), ("30s", 0.5), ("x", None)]
)
def test_durations(text, minutes):
    assert minutes_of(text) == minutes


def test_thresholds_check_command(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["thresholds", "check"])
    assert ok.exit_code == 0 and "examples pass" in ok.output
    bad = write(tmp_path, "bad.toml", GOOD.replace('kind = "long_contact"', 'kind = "nope"'))
    result = runner.invoke(main, ["thresholds", "check", str(bad)])
    assert result.exit_code == 1
    assert "bad.toml:9: unknown rule kind 'nope'" in result.output
    assert "judge refuses this profile" in result.output


def test_judge_refuses_an_invalid_profile(tmp_path, db_path):
    bad = write(tmp_path, "bad.toml", GOOD.replace('kind = "long_contact"', 'kind = "nope"'))
    result = CliRunner().invoke(main, ["--db", db_path, "judge", "--profile", str(bad)])
    assert result.exit_code == 1 and "unknown rule kind 'nope'" in result.output


def test_with_thresholds_changes_the_named_levels_and_keeps_the_others():
    profile = load_profile()
    long_call = profile.rule("long_call")
    moved = profile.with_thresholds("long_call", watch=45)
    assert moved.rule("long_call").tiers == {**long_call.tiers, "watch": 45}
    assert moved.rule("long_call").content_hash != long_call.content_hash
    assert [r.id for r in moved.rules] == [r.id for r in profile.rules]
    assert profile.rule("long_call") == long_call  # the profile itself is unchanged
    both = profile.with_thresholds("long_call", watch=90, alert=180)
    assert both.rule("long_call").tiers == {"watch": 90, "alert": 180}
    with pytest.raises(ValueError, match="must be above watch"):
        profile.with_thresholds("long_call", watch=long_call.tiers["alert"])
    with pytest.raises(ValueError, match="no level severe"):
        profile.with_thresholds("long_call", severe=5)
    with pytest.raises(KeyError):
        profile.with_thresholds("no_such_rule", watch=1)
