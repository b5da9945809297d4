"""Profiles that inherit (`extends`), per-department overrides, and the second ward: 世田谷区.

The Setagaya samples (data/samples/setagaya/, written by scripts/make_samples_setagaya.py) are
judged end to end through the CLI, as the README tells a ward to, and every planted pattern is
flagged with exactly its rules while no trap and nobody else is.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.identity import Pseudonymizer, classify_number
from kasuhara_metrics.common.site import resolve_site
from kasuhara_metrics.judge import judge
from kasuhara_metrics.judge.examples import run_examples
from kasuhara_metrics.rules import check_profile, load_profile

from .conftest import SAMPLES, TEST_SECRET, fixture_secret

ROOT = Path(__file__).resolve().parents[1]
SETAGAYA = ROOT / "thresholds" / "setagaya.toml"
SETAGAYA_SAMPLES = SAMPLES / "setagaya"
SITE_FILE = SETAGAYA_SAMPLES / "setagaya.site.toml"
MANIFEST = tomllib.loads((SETAGAYA_SAMPLES / "planted.toml").read_text(encoding="utf-8"))


def write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


HEAD = '[profile]\nname = "third"\nversion = "1"\ntitle = "third ward"\n'


# -- extends -------------------------------------------------------------------------------------


def test_a_profile_extends_a_shipped_one_by_name_and_changes_only_what_it_writes(tmp_path):
    path = write_profile(
        tmp_path,
        "third.toml",
        'extends = "bunkyo"\n' + HEAD + "[rules.long_call]\ntiers = { watch = 45, alert = 90 }\n"
        "[rules.frequent_calls]\nenabled = false\n"
        "[rules.immediate_redial]\nparams = { gap_minutes = 3 }\n",
    )
    bunkyo, third = load_profile(), load_profile(path)
    assert (third.name, third.lineage) == ("third", (str(path), str(ROOT / "thresholds" / "bunkyo.toml")))
    assert third.rule("long_call").tiers == {"watch": 45, "alert": 90}
    assert third.rule("long_call").behaviour == bunkyo.rule("long_call").behaviour
    # params merge entry by entry: the window the ward did not write is inherited
    assert third.rule("immediate_redial").params == {"gap_minutes": 3, "window_hours": 24}
    assert not third.rule("frequent_calls").enabled
    assert [r.id for r in third.rules] == [r.id for r in bunkyo.rules]
    # examples test numbers: changed tiers or params drop the inherited ones, the rest keep theirs
    assert third.rule("long_call").examples == ()
    assert third.rule("immediate_redial").examples == ()
    assert third.rule("long_visit").examples == bunkyo.rule("long_visit").examples
    assert third.site == bunkyo.site
    assert third.content_hash != bunkyo.content_hash


def test_a_profile_extends_a_relative_path_and_adds_a_rule(tmp_path):
    (tmp_path / "wards").mkdir()
    write_profile(tmp_path, "base.toml", (ROOT / "thresholds" / "bunkyo.toml").read_text(encoding="utf-8"))
    path = write_profile(
        tmp_path / "wards",
        "third.toml",
        'extends = "../base.toml"\n' + HEAD + '[site]\nbusiness_hours = "09:00-17:00"\n'
        '[rules.very_long_call]\ncategory = "拘束"\nbehaviour = "長時間にわたる電話"\nkind = "long_contact"\n'
        'description = "d"\nsources = ["project choice"]\nparams = { channel = "call" }\ntiers = { alert = 120 }\n'
        '[[rules.very_long_call.examples]]\nname = "two hours"\nexpect = "alert"\n'
        'contacts = [{ at = "0m", talk = "2h" }]\n',
    )
    profile = load_profile(path)
    assert profile.rule("very_long_call").tiers == {"alert": 120}
    assert profile.site.business_hours == "09:00-17:00"
    assert profile.site.topics == load_profile().site.topics  # the [site] keys not written are inherited
    assert all(result.passed for result in run_examples(profile, [profile.rule("very_long_call")]))


def test_problems_are_reported_in_the_file_that_set_the_value(tmp_path):
    base = write_profile(
        tmp_path,
        "base.toml",
        (ROOT / "thresholds" / "bunkyo.toml")
        .read_text(encoding="utf-8")
        .replace("tiers = { watch = 3 }  # distinct", "tiers = { watch = -3 }  # distinct"),
    )
    child = write_profile(
        tmp_path,
        "child.toml",
        'extends = "base.toml"\n' + HEAD + "\n[rules.long_call]\ntiers = { watch = 60, alert = 30 }\n",
    )
    _, issues = check_profile(child)
    where = {issue.message.split(" ")[0]: issue.source for issue in issues}
    assert where["tiers.alert"].path == str(child)
    assert where["tiers.alert"].line == 8  # the tiers line under [rules.long_call]
    assert where["tiers.watch"].path == str(base)
    base_line = next(
        number
        for number, line in enumerate(base.read_text(encoding="utf-8").splitlines(), start=1)
        if "watch = -3" in line
    )
    assert where["tiers.watch"].line == base_line


@pytest.mark.parametrize(
    "extends,problem",
    [
        ('"nowhere.toml"', "no such file next to child.toml"),
        ('"child.toml"', "in a circle"),
        ("3", "extends names the profile"),
    ],
)
def test_a_bad_extends_is_an_error_at_its_line(tmp_path, extends, problem):
    child = write_profile(tmp_path, "child.toml", f"extends = {extends}\n" + HEAD)
    profile, issues = check_profile(child)
    assert profile is None
    [issue] = issues
    assert problem in issue.message
    assert (issue.source.path, issue.source.line) == (str(child), 1)


def test_profile_is_not_inherited_a_ward_names_itself(tmp_path):
    child = write_profile(tmp_path, "child.toml", 'extends = "bunkyo"\n[rules.long_call]\nenabled = false\n')
    _, issues = check_profile(child)
    assert any("[profile]" in issue.message and issue.source.path == str(child) for issue in issues)


# -- department overrides ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table,problem",
    [
        ('departments = ["生活支援課"]\nreason = "r"\n', "needs tiers"),
        ('departments = []\ntiers = { watch = 90 }\nreason = "r"\n', "must list department names"),
        ('departments = ["生活支援課"]\ntiers = { watch = 90 }\n', "reason is required"),
        ('departments = ["生活支援課"]\ntiers = { watch = 90, alert = 80 }\nreason = "r"\n', "must be above watch"),
        ('departments = ["生活支援課"]\ntiers = { severe = 90 }\nreason = "r"\n', "has no severe tier"),
        ('departments = ["生活支援課"]\nenabled = false\ntiers = { watch = 9 }\nreason = "r"\n', "not both"),
    ],
)
def test_a_bad_override_is_an_error_at_its_table(tmp_path, table, problem):
    child = write_profile(
        tmp_path, "child.toml", 'extends = "bunkyo"\n' + HEAD + "[rules.long_visit.overrides.interviews]\n" + table
    )
    _, issues = check_profile(child)
    assert issues and any(problem in issue.message for issue in issues), [str(i) for i in issues]
    assert all((issue.source.path, issue.source.line) == (str(child), 6) for issue in issues)


def test_tiers_by_department_need_a_rule_measured_per_department(tmp_path):
    child = write_profile(
        tmp_path,
        "child.toml",
        'extends = "bunkyo"\n' + HEAD + "[rules.immediate_redial.overrides.desk]\n"
        'departments = ["区民課"]\ntiers = { watch = 5 }\nreason = "r"\n'
        "[rules.cross_department.overrides.desk]\n"
        'departments = ["区民課"]\nenabled = false\nreason = "switching off is fine for any kind"\n',
    )
    _, issues = check_profile(child)
    [issue] = issues
    assert "kind redial measures across departments" in issue.message


def test_a_flag_records_the_override_that_set_its_tiers_and_explain_shows_it(tmp_path):
    """Two visits of 150 minutes: alert at 区民課, watch at 生活支援課 under the Setagaya override."""
    db_path = str(tmp_path / "w.duckdb")
    with fixture_secret(), connect(db_path) as db:
        visits = tmp_path / "visits.csv"
        visits.write_text(
            "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary\n"
            "X1,2026-09-01 09:00,2026-09-01 11:30,生活支援課,相談,,09011110001,,,\n"
            "X2,2026-09-02 09:00,2026-09-02 11:30,区民課,苦情,,09011110002,,,\n",
            encoding="utf-8",
        )
        runner = CliRunner()
        for kind, path in (("departments", SETAGAYA_SAMPLES / "departments.csv"), ("visits", visits)):
            result = runner.invoke(main, ["--db", db_path, "ingest", kind, str(path)], catch_exceptions=False)
            assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--db", db_path, "judge", "--profile", "setagaya"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with connect(db_path, read_only=True) as db:
        flags = db.con.execute(
            "SELECT severity, threshold, threshold_override, detail, requester_key, profile_name FROM flags "
            "WHERE rule_id = 'long_visit' ORDER BY first_at"
        ).fetchall()
    assert [(f[0], f[1], f[2], f[5]) for f in flags] == [
        ("watch", 120.0, "long_interviews", "setagaya"),
        ("alert", 120.0, None, "setagaya"),
    ]
    assert "override long_interviews" in flags[0][3]
    explain = ["--db", db_path, "explain", flags[0][4], "--profile", "setagaya"]
    explained = runner.invoke(main, explain, catch_exceptions=False).output
    assert "judged by its override long_interviews for 生活支援課 (watch 120, alert 180 minutes)" in explained
    assert "Flags judged by profile setagaya" in explained
    listed = runner.invoke(main, ["--db", db_path, "flags"], catch_exceptions=False).output
    assert listed.startswith("Judged by profile setagaya ")
    wide = runner.invoke(main, ["--db", db_path, "flags", "--format", "csv"], catch_exceptions=False).output
    assert "threshold_override" in wide.splitlines()[0] and "long_interviews" in wide


# -- the second ward -----------------------------------------------------------------------------


def test_the_setagaya_profile_is_complete_and_its_examples_pass():
    profile = load_profile(SETAGAYA)
    assert "世田谷区" in profile.title and "世田谷区" in profile.policy
    assert {"off_hours_contacts", "off_hours_attempts"} <= {r.id for r in profile.enabled_rules}
    assert not {"off_hours_contacts", "off_hours_attempts"} & {r.id for r in load_profile().enabled_rules}
    for rule in profile.rules:
        assert rule.examples and rule.sources and rule.responses, rule.id
        assert set(rule.responses) == set(rule.tiers), rule.id
    results = run_examples(profile)
    assert results and all(r.passed for r in results), [str(r) for r in results if not r.passed]
    # the policy's own measures, not Bunkyo's, answer every alert
    alerts = [rule.responses["alert"] for rule in profile.rules if "alert" in rule.responses]
    assert alerts and all("所属長等" in text for text in alerts)


@pytest.fixture(scope="module")
def setagaya(tmp_path_factory):
    """The Setagaya samples ingested and judged with the issue's command line."""
    db_path = str(tmp_path_factory.mktemp("setagaya") / "setagaya.duckdb")
    runner = CliRunner()
    base = ["--site", str(SITE_FILE), "--db", db_path]
    commands = [
        ["ingest", "departments", str(SETAGAYA_SAMPLES / "departments.csv")],
        ["ingest", "calls", *map(str, sorted((SETAGAYA_SAMPLES / "asterisk").glob("*.csv")))],
        ["ingest", "visits", *map(str, sorted((SETAGAYA_SAMPLES / "visits").glob("*.csv")))],
        ["judge", "--profile", str(SETAGAYA)],
    ]
    with fixture_secret():
        for command in commands:  # as the demo does: ingest reads the ward's [site], its topics
            result = runner.invoke(main, base + command, env={"KASUHARA_PROFILE": "setagaya"}, catch_exceptions=False)
            assert result.exit_code == 0, result.output
        with connect(db_path, read_only=True) as db:
            topics = {row[0] for row in db.con.execute("SELECT DISTINCT topic FROM visits").fetchall()}
            assert {"印鑑登録", "国民年金", "区政への意見"} <= topics  # Setagaya's own, not codes
            flags = {}
            for rule_id, requester, severity in db.con.execute(
                "SELECT rule_id, requester_key, severity FROM flags"
            ).fetchall():
                flags.setdefault(requester, set()).add((rule_id, severity))
            run = db.con.execute("SELECT profile_name, profile_hash FROM judge_runs").fetchall()
    return db_path, flags, run


def setagaya_requester(number: str) -> str:
    return Pseudonymizer(TEST_SECRET.encode()).key(classify_number(number, load_profile(SETAGAYA).site).canonical)


@pytest.mark.parametrize("case", MANIFEST["planted"], ids=lambda c: c["note"])
def test_every_setagaya_plant_is_flagged_with_its_rules(setagaya, case):
    _, flags, _ = setagaya
    assert flags.get(setagaya_requester(case["number"])) == {(rule, case["severity"]) for rule in case["rules"]}


def test_nobody_else_in_setagaya_is_flagged_and_no_trap(setagaya):
    _, flags, _ = setagaya
    planted = {setagaya_requester(case["number"]) for case in MANIFEST["planted"]}
    assert set(flags) == planted
    traps = [setagaya_requester(c["number"]) for c in MANIFEST["trap"] if c["number"].startswith("0")]
    assert traps and not set(traps) & set(flags)


def test_judge_runs_records_the_effective_profile(setagaya):
    """Bunkyo's rules under Setagaya's changes and the site file's settings: the profile that judged."""
    _, _, run = setagaya
    profile = load_profile(SETAGAYA)
    effective = replace(profile, site=resolve_site(profile.site, str(SITE_FILE)))
    assert run == [("setagaya", effective.content_hash)]
    assert effective.content_hash != load_profile().content_hash


def test_the_bunkyo_profile_judges_the_same_calls_by_its_own_criteria(tmp_path):
    """The same Setagaya records under Bunkyo's criteria: the 110-minute 生活支援課 interview is a
    long visit there, and the off-hours callers are not flagged (Bunkyo keeps those rules off)."""
    db_path = str(tmp_path / "w.duckdb")
    with fixture_secret():
        runner = CliRunner()
        base = ["--site", str(SITE_FILE), "--db", db_path]
        for command in (
            ["ingest", "departments", str(SETAGAYA_SAMPLES / "departments.csv")],
            ["ingest", "calls", str(SETAGAYA_SAMPLES / "asterisk" / "Master-2026-09.csv")],
            ["ingest", "visits", str(SETAGAYA_SAMPLES / "visits" / "visits-2026-09.csv")],
        ):
            assert runner.invoke(main, base + command, catch_exceptions=False).exit_code == 0
        with connect(db_path) as db:
            judge(db, load_profile())
            flagged = {
                (rule, key) for rule, key in db.con.execute("SELECT rule_id, requester_key FROM flags").fetchall()
            }
    interview = next(c for c in MANIFEST["trap"] if "110-minute" in c["note"])
    assert ("long_visit", setagaya_requester(interview["number"])) in flagged
    assert not {rule for rule, _ in flagged} & {"off_hours_contacts", "off_hours_attempts"}


def test_explain_names_the_off_hours_near_miss_of_a_trap(setagaya):
    """Two staff-answered calls after hours on two days: no flag, and explain says how close it came."""
    db_path, _, _ = setagaya
    trap = next(c for c in MANIFEST["trap"] if c["note"].startswith("2 staff-answered calls after hours"))
    with fixture_secret():
        result = CliRunner().invoke(
            main,
            ["--site", str(SITE_FILE), "--db", db_path, "explain", trap["number"], "--profile", str(SETAGAYA)],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert "off_hours_contacts" in result.output and "2 of 3 contacts" in result.output
    assert "0 flags" in result.output


def test_switching_a_department_off_never_makes_a_retry_a_redial(tmp_path):
    """Answered call to 区民課, an unanswered one to 福祉課 (switched off), a retry to 区民課, three
    times over: the retries follow an unanswered call, so they are no redials with or without 福祉課."""
    rounds = ", ".join(
        f'{{ at = "{r * 30}m", talk = "2m" }}, {{ at = "{r * 30 + 3}m", answered = false, department = "福祉課" }}, '
        f'{{ at = "{r * 30 + 4}m", talk = "2m" }}'
        for r in range(3)
    )
    path = write_profile(
        tmp_path,
        "third.toml",
        'extends = "bunkyo"\n' + HEAD + "[rules.immediate_redial]\ninherit_examples = false\n"
        '[rules.immediate_redial.overrides.welfare]\ndepartments = ["福祉課"]\nenabled = false\nreason = "r"\n'
        '[[rules.immediate_redial.examples]]\nname = "retries after an unanswered call"\nexpect = "none"\n'
        f"contacts = [{rounds}]\n",
    )
    profile = load_profile(path)
    assert len(profile.rule("immediate_redial").examples) == 1  # inherit_examples = false
    [result] = run_examples(profile, [profile.rule("immediate_redial")])
    assert result.passed, str(result)


def test_the_report_speaks_the_words_of_the_profile_that_judged(setagaya, tmp_path):
    """No --profile: the report, explain and the evidence file take the profile of the stored flags,
    not the default's, so 世田谷区's managers read their own policy and responses."""
    db_path, _, _ = setagaya
    runner = CliRunner()
    base = ["--site", str(SITE_FILE), "--db", db_path]
    with fixture_secret():
        result = runner.invoke(main, [*base, "report", "--week", "2026-W37", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "kasuhara-report-2026-W37.html").read_text(encoding="utf-8")
    assert "世田谷区職員に対するカスタマー・ハラスメントの防止に関する基本方針" in page
    assert "文京区カスタマーハラスメント対策基本方針" not in page
    assert page.count("180分以上・生活支援課の基準") >= 2  # in the decisions and beside the person
    assert "所属長等による組織的対応" in page


def test_judge_warns_of_an_override_department_no_contact_has(tmp_path):
    """A misspelt department leaves the rule's own tiers in force there: judge says so."""
    db_path = str(tmp_path / "w.duckdb")
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary\n"
        "X1,2026-09-01 09:00,2026-09-01 09:30,区民課,手続,,09011110001,,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    with fixture_secret():
        assert runner.invoke(main, ["--db", db_path, "ingest", "visits", str(visits)]).exit_code == 0
        result = runner.invoke(main, ["--db", db_path, "judge", "--profile", "setagaya"])
    assert result.exit_code == 0, result.output
    assert "warning: long_visit's overrides name 生活支援課, which no contact has" in result.output


def test_the_nightly_run_warns_of_an_override_department_too(tmp_path):
    inbox = tmp_path / "inbox" / "visits"
    inbox.mkdir(parents=True)
    (inbox / "visits.csv").write_text(
        "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary\n"
        "X1,2026-09-01 09:00,2026-09-01 09:30,区民課,手続,,09011110001,,,\n",
        encoding="utf-8",
    )
    with fixture_secret():
        result = CliRunner().invoke(
            main,
            [
                "--db",
                str(tmp_path / "w.duckdb"),
                "nightly",
                "--inbox",
                str(tmp_path / "inbox"),
                "--profile",
                "setagaya",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "warning: long_visit's overrides name 生活支援課, which no contact has" in result.output
