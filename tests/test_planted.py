"""The synthetic ward's planted patterns are all flagged, with the right behaviour, and nothing
else is: not the traps (withheld callers, transfers, busy retries, voicemail, staff and outbound
calls, a resident moving house, a contractor, values just under each threshold), not the 260
ordinary residents. data/samples/planted.toml lists the cases."""

from __future__ import annotations

import tomllib

import pytest

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.identity import Pseudonymizer, classify_number
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import SAMPLES, TEST_SECRET, fixture_secret, ingest_sample_ward

MANIFEST = tomllib.loads((SAMPLES / "planted.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    profile = load_profile()
    with fixture_secret():
        db = connect(str(tmp_path_factory.mktemp("planted") / "ward.duckdb"))
        assert not any(report.failures for report in ingest_sample_ward(db))
        judge(db, profile)
    flags: dict[str, set[tuple[str, str]]] = {}
    for rule_id, requester, severity in db.con.execute("SELECT rule_id, requester_key, severity FROM flags").fetchall():
        flags.setdefault(requester, set()).add((rule_id, severity))
    yield db, flags
    db.close()


def requester_of(db, number: str) -> str:
    key = Pseudonymizer(TEST_SECRET.encode()).key(classify_number(number, load_profile().site).canonical)
    linked = db.con.execute("SELECT requester_key FROM requester_links WHERE alias_key = ?", [key]).fetchall()
    return linked[0][0] if linked else key


@pytest.mark.parametrize("case", MANIFEST["planted"], ids=lambda c: c["note"])
def test_every_planted_pattern_is_flagged_with_its_behaviour(judged, case):
    db, flags = judged
    assert flags.get(requester_of(db, case["number"])) == {(rule, case["severity"]) for rule in case["rules"]}


@pytest.mark.parametrize("case", MANIFEST["trap"], ids=lambda c: c["note"])
def test_no_trap_is_flagged(judged, case):
    db, flags = judged
    if case["number"][0].isdigit():
        assert requester_of(db, case["number"]) not in flags
    else:  # withheld callers: never a requester, so never flagged
        assert db.con.execute(
            "SELECT count(*) FROM contacts WHERE caller_class = 'withheld' AND requester_key IS NOT NULL"
        ).fetchall() == [(0,)]
        assert db.con.execute("SELECT count(*) FROM contacts WHERE caller_class = 'withheld'").fetchall()[0][0] > 100


def test_nobody_but_the_planted_is_flagged(judged):
    db, flags = judged
    planted = {requester_of(db, case["number"]) for case in MANIFEST["planted"]}
    assert set(flags) == planted
    assert db.con.execute("SELECT count(DISTINCT requester_key) FROM contacts").fetchall()[0][0] > 250


def test_every_behaviour_of_the_policy_is_planted():
    rules = {rule for case in MANIFEST["planted"] for rule in case["rules"]}
    assert rules == {rule.id for rule in load_profile().enabled_rules}
