"""judge/: flags with deterministic ids and evidence, one episode per streak, versions recorded."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.desk.flags import COMPACT_COLUMNS
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import rows, write
from .helpers import cdr18

TZ = ZoneInfo("Asia/Tokyo")
PROFILE = load_profile()


def add_contacts(db, contacts):
    base = {
        "caller_class": "external",
        "direction": "inbound",
        "department": "区民課",
        "kind": "unknown",
        "topic": None,
        "answered": True,
        "outcome": "answered",
        "legs": 1,
        "exit_requested_at": None,
        "channel": "call",
    }
    table = []
    for c in contacts:
        row = {**base, **c}
        row.setdefault("answered_at", row["started_at"])
        row["talk_s"] = int((row["ended_at"] - row["started_at"]).total_seconds()) if row["answered"] else 0
        row["span_s"] = row["talk_s"]
        row.setdefault("source_ids", [row["contact_id"]])
        table.append(row)
    db.con.register("_new", pa.Table.from_pylist(table))
    db.con.execute("INSERT INTO contacts BY NAME SELECT * FROM _new")
    db.con.unregister("_new")


def redial_calls(requester, start, count, prefix):
    """An answered 2-minute call, then `count` redials each 3 minutes after the previous end."""
    calls, at = [], start
    for n in range(count + 1):
        calls.append(
            {
                "contact_id": f"{prefix}{n}",
                "requester_key": requester,
                "started_at": at,
                "ended_at": at + timedelta(minutes=2),
            }
        )
        at += timedelta(minutes=5)
    return calls


T0 = datetime(2026, 9, 1, 10, 0, tzinfo=TZ)


@pytest.fixture
def memdb():
    with connect(":memory:") as db:
        yield db


def flags(db):
    return rows(
        db,
        "SELECT flag_id, rule_id, requester_key, severity, first_at, last_at, value, evidence "
        "FROM flags ORDER BY flag_id",
    )


def test_the_same_data_gives_the_same_flags(memdb):
    add_contacts(memdb, redial_calls("RA", T0, 3, "a"))
    first = judge(memdb, PROFILE)
    before = flags(memdb)
    second = judge(memdb, PROFILE)
    assert flags(memdb) == before and len(before) == 1
    assert (first.new, second.new, second.updated, second.gone) == (1, 0, 0, 0)
    flag_id, rule_id, requester, severity, first_at, last_at, value, evidence = before[0]
    assert (rule_id, requester, severity, value) == ("immediate_redial", "RA", "watch", 3.0)
    assert evidence == ["a0", "a1", "a2", "a3"]  # every contributing call, oldest first


def test_a_streak_that_keeps_firing_is_one_flag_whose_window_grows(memdb):
    add_contacts(memdb, redial_calls("RA", T0, 3, "a"))
    judge(memdb, PROFILE)
    [(flag_id, _, _, _, first_at, last_at, _, _)] = flags(memdb)
    # The next night: three more redials continue the chain, up to alert.
    add_contacts(
        memdb,
        [
            {
                "contact_id": f"b{n}",
                "requester_key": "RA",
                "started_at": T0 + timedelta(minutes=15 + 5 * n),
                "ended_at": T0 + timedelta(minutes=17 + 5 * n),
            }
            for n in range(1, 4)
        ],
    )
    report = judge(memdb, PROFILE)
    [(same_id, _, _, severity, same_first, later_last, value, evidence)] = flags(memdb)
    assert same_id == flag_id and same_first == first_at and later_last > last_at
    assert (severity, value, len(evidence)) == ("alert", 6.0, 7)
    assert (report.new, report.updated) == (0, 1)


def test_a_growing_flag_judged_as_a_night_keeps_its_stored_evidence_up_to_the_change(memdb):
    """An increment keeps a growing flag's evidence rows from before the change and adds those of its
    new contacts (store.py, `_continuing`): each night the flags and evidence are those of one full run, for
    a chain that grows after its stored end, a late call inside it, one before its start (nothing
    kept: a new flag), beside a second flag of the same requester; and so after a judge of named
    requesters (nothing kept either)."""

    def call(contact_id, minutes, length=2):
        at = T0 + timedelta(minutes=minutes)
        return {
            "contact_id": contact_id,
            "requester_key": "RA",
            "started_at": at,
            "ended_at": at + timedelta(minutes=length),
        }

    def stored(db):
        return (
            rows(db, "SELECT * EXCLUDE (run_id) FROM flag_rows ORDER BY flag_id"),
            rows(db, "SELECT * FROM flag_evidence_rows ORDER BY flag_id, contact_id"),
        )

    def matches_one_run(contacts_so_far):
        with connect(":memory:") as whole:
            add_contacts(whole, contacts_so_far)
            judge(whole, PROFILE)
            assert stored(memdb) == stored(whole)

    so_far = redial_calls("RA", T0, 3, "a")
    so_far[1]["source_ids"] = ["a1-in", "a1-transfer"]  # a contact of two legs: two ids
    add_contacts(memdb, so_far)
    judge(memdb, PROFILE)
    nights = [
        [call(f"b{n}", 15 + 5 * n) for n in range(1, 4)] + [call("long", 240, length=75)],
        [call("late", 12)],
        [call("early", -4)],
    ]
    for contacts in nights:
        add_contacts(memdb, contacts)
        judge(memdb, PROFILE, changed_from={"RA": min(c["started_at"] for c in contacts)})
        so_far += contacts
        matches_one_run(so_far)
    redials = rows(memdb, "SELECT evidence FROM flags WHERE rule_id = 'immediate_redial'")
    assert redials == [(["early", "a0", "a1-in", "a1-transfer", "a2", "late", "a3", "b1", "b2", "b3"],)]
    rules = {rule for (rule,) in rows(memdb, "SELECT rule_id FROM flag_rows")}
    assert {"immediate_redial", "long_call"} <= rules  # and the day's total: one requester, several flags
    judge(memdb, PROFILE, requesters=["RA"])
    matches_one_run(so_far)


def test_nobodys_contacts_are_never_judged(memdb):
    long_talk = T0 + timedelta(hours=2)
    add_contacts(
        memdb,
        [
            {
                "contact_id": "w",
                "requester_key": None,
                "caller_class": "withheld",
                "started_at": T0,
                "ended_at": long_talk,
            },
            {
                "contact_id": "s",
                "requester_key": None,
                "caller_class": "internal",
                "direction": "internal",
                "started_at": T0,
                "ended_at": long_talk,
            },
        ],
    )
    report = judge(memdb, PROFILE)
    assert report.contacts_judged == 0 and flags(memdb) == []


def test_changed_thresholds_are_recorded_and_never_mixed(memdb):
    add_contacts(
        memdb, [{"contact_id": "c1", "requester_key": "RA", "started_at": T0, "ended_at": T0 + timedelta(minutes=45)}]
    )
    judge(memdb, PROFILE)
    stricter = replace(
        PROFILE,
        version="2027.01",
        rules=tuple(replace(r, tiers={"watch": 40, "alert": 90}) if r.id == "long_call" else r for r in PROFILE.rules),
    )
    judge(memdb, stricter)
    runs = rows(memdb, "SELECT profile_version, profile_hash, previous_hash FROM judge_runs ORDER BY run_id")
    assert runs[0][0] == PROFILE.version and runs[1][0] == "2027.01"
    assert runs[1][2] == runs[0][1] and runs[1][1] != runs[0][1]
    assert rows(memdb, "SELECT DISTINCT profile_version, rule_hash FROM flag_rows") == [
        ("2027.01", stricter.rule("long_call").content_hash)
    ]
    # Rule health: every rule of every run, those that fired nothing included.
    health = rows(memdb, "SELECT run_id, count(*), sum(flags) FROM rule_runs GROUP BY run_id ORDER BY run_id")
    assert health == [(1, len(PROFILE.enabled_rules), 1), (2, len(PROFILE.enabled_rules), 1)]


def test_a_dry_run_shows_changes_and_writes_nothing(memdb):
    add_contacts(
        memdb, [{"contact_id": "c1", "requester_key": "RA", "started_at": T0, "ended_at": T0 + timedelta(minutes=45)}]
    )
    judge(memdb, PROFILE)
    before = (flags(memdb), rows(memdb, "SELECT count(*) FROM judge_runs"))
    looser = replace(
        PROFILE, rules=tuple(replace(r, tiers={"watch": 50}) if r.id == "long_call" else r for r in PROFILE.rules)
    )
    report = judge(memdb, looser, dry_run=True)
    assert report.dry_run and report.run_id is None
    outcome = next(o for o in report.rules if o.rule_id == "long_call")
    assert (outcome.added, outcome.removed) == (0, 1)
    assert (flags(memdb), rows(memdb, "SELECT count(*) FROM judge_runs")) == before


def test_as_of_judges_only_contacts_up_to_that_day(memdb):
    add_contacts(memdb, redial_calls("RA", T0, 3, "a") + redial_calls("RB", T0 + timedelta(days=1), 3, "b"))
    judge(memdb, PROFILE, as_of=date(2026, 9, 1))
    assert [r[2] for r in flags(memdb)] == ["RA"]
    assert rows(memdb, "SELECT as_of FROM judge_runs") == [(date(2026, 9, 1),)]


def test_judge_flags_and_explain_through_the_cli(db_path, tmp_path):
    t = datetime(2026, 9, 1, 10, 0)
    lines = []
    for n in range(4):  # an answered call, then three redials each 3 minutes after the last ended
        lines.append(cdr18("09012345678", t, talk=120, ring=0, uniqueid=f"178800000{n}.1"))
        t += timedelta(minutes=5)
    lines.append(cdr18("08011112222", datetime(2026, 9, 2, 10), talk=120, ring=0, uniqueid="1788000100.1"))
    lines.append(cdr18("08011112222", datetime(2026, 9, 2, 10, 5), talk=120, ring=0, uniqueid="1788000101.1"))
    lines.append(cdr18("08011112222", datetime(2026, 9, 2, 10, 10), talk=120, ring=0, uniqueid="1788000102.1"))
    runner = CliRunner()

    def invoke(*a):
        return runner.invoke(main, ["--db", db_path, *a], catch_exceptions=False)

    assert invoke("ingest", "calls", str(write(tmp_path, "c.csv", "\n".join(lines) + "\n"))).exit_code == 0
    judged = invoke("judge")
    assert judged.exit_code == 0 and "1 flag is current (1 new" in judged.output
    listed = json.loads(invoke("flags", "--format", "json").output)
    assert len(listed) == 1
    flag = listed[0]
    assert {
        "flag_id",
        "requester",
        "category",
        "behaviour",
        "rule_id",
        "severity",
        "first_at",
        "last_at",
        "value",
        "threshold",
        "evidence",
    } <= set(flag)
    assert flag["rule_id"] == "immediate_redial" and flag["evidence"] == [f"178800000{n}.1" for n in range(4)]
    assert json.loads(invoke("flags", "--format", "json", "--category", "拘束").output) == []
    assert json.loads(invoke("flags", "--format", "json", "--since", "2026-09-02").output) == []
    explained = invoke("explain", "080-1111-2222")
    assert explained.exit_code == 0
    assert "2 of 3 redials on 2026-09-02" in explained.output
    by_key = invoke("explain", flag["requester"], "--format", "json")
    sections = {row["section"] for row in json.loads(by_key.output)}
    assert sections == {"flag", "near miss", "contact"}


def test_the_desk_reads_well_at_80_columns(db_path, tmp_path):
    t = datetime(2026, 9, 1, 10, 0)
    lines = []
    for n in range(4):  # four calls each 3 minutes after the last ended: one redial flag
        lines.append(cdr18("09012345678", t, talk=120, ring=0, uniqueid=f"178800000{n}.1"))
        t += timedelta(minutes=5)
    runner = CliRunner()

    def invoke(*a, columns=80):
        result = runner.invoke(main, ["--db", db_path, *a], env={"COLUMNS": str(columns)}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    invoke("ingest", "calls", str(write(tmp_path, "c.csv", "\n".join(lines) + "\n")))
    assert "1 flag is current" in invoke("judge")
    (flag,) = json.loads(invoke("flags", "--format", "json"))

    compact = invoke("flags", columns=160)
    header = next(line for line in compact.splitlines() if "requester" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == list(COMPACT_COLUMNS)
    # Ids whole on one line, the period in days and the measurement beside its threshold.
    assert flag["flag_id"] in compact and flag["requester"] in compact
    assert "2026-09-01" in compact and "3 / 3 redials" in compact and "unreviewed" in compact
    assert "evidence" not in compact and max(map(len, compact.splitlines())) <= 160
    # Too narrow for the table: two lines a flag, under a header of the same shape.
    title, *narrow = invoke("flags").splitlines()
    assert title.startswith(f"Judged by profile bunkyo {PROFILE.version} on 2")  # which criteria made them
    assert narrow[0].split() == ["flag", "requester", "level", "period"]
    assert narrow[2].split()[:4] == [flag["flag_id"], flag["requester"], "watch", "2026-09-01"]
    assert "3 / 3 redials  (unreviewed)" in narrow[3] and max(map(len, narrow)) <= 80
    wide = invoke("flags", "--wide", columns=160)
    assert "evidence" in wide and "178800000" in wide

    csv_rows = list(csv.DictReader(io.StringIO(invoke("flags", "--format", "csv"))))
    assert csv_rows[0]["evidence"] == ";".join(f"178800000{n}.1" for n in range(4))

    assert invoke("flags", "--category", "拘束").strip() == "No flags match these filters."
    assert invoke("query", "SELECT * FROM flags WHERE false").strip() == "(no rows)"

    explained = invoke("explain", flag["requester"])
    assert "4 contacts, 1 flag." in explained
    latest = invoke("explain", flag["requester"], "--limit", "2")
    assert "4 contacts (showing 2 of 4), 1 flag." in latest
    assert "1788000003.1" in latest and "1788000002.1" in latest and "1788000001.1" not in latest
    later = invoke("explain", flag["requester"], "--since", "2026-09-02")
    assert "(showing 0 of 4), 0 flags since 2026-09-02" in later
    assert "No flags in this period." in later and "No contacts in this period." in later
    # The rule fired before --since: it is no near miss after it.
    assert "immediate_redial" not in later


def test_a_topic_repeated_enough_for_both_watch_windows_names_the_larger_one_every_time(memdb):
    """Five visits on one topic in a week meet "3 within 7 days" and "5 within 30 days" alike (both
    watch, value 5): the flag's threshold is 5 on every run, however DuckDB's threads order the rows."""
    add_contacts(
        memdb,
        [
            {
                "contact_id": f"v{n}",
                "requester_key": "RA",
                "channel": "visit",
                "kind": "complaint",
                "topic": "住民税",
                "started_at": T0 + timedelta(days=n),
                "ended_at": T0 + timedelta(days=n, minutes=10),
            }
            for n in range(5)
        ],
    )
    thresholds = set()
    for _ in range(5):
        judge(memdb, PROFILE)
        thresholds |= set(rows(memdb, "SELECT value, threshold FROM flag_rows WHERE rule_id = 'same_topic'"))
    assert thresholds == {(5.0, 5.0)}
