"""Increments: records arriving in any order, night after night, give the flags of one run over them all.

The nightly run rebuilds only the contacts that new records can touch and judges only the part of
each requester's history those contacts can reach (judge/scope.py). Whatever the order in which
records arrive (a late file of last month's calls, a transfer's second record a night later), the
flags, their evidence, the contacts and the stored hits the next night starts from must be those
of a single run over every record.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from kasuhara_metrics import contacts
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.ingest import IngestOptions, ingest_files
from kasuhara_metrics.judge import judge
from kasuhara_metrics.nightly import run_nightly
from kasuhara_metrics.rules import load_profile

from .conftest import SAMPLES, fixture_secret
from .helpers import cdr18, epoch, q

BUNKYO = Path(__file__).parent.parent / "thresholds" / "bunkyo.toml"
# A sliding window and a long redial window besides Bunkyo's rules: every kind of reach back is tried.
EXTRA_RULES = """
[rules.calls_in_three_hours]
category = "繰り返し"
behaviour = "頻回の架電"
kind = "count_window"
description = "Test rule: calls within any three hours."
params = { channel = "call", answered_only = false, period = "sliding", window_hours = 3 }
tiers = { watch = 4, alert = 6 }
sources = ["test"]

[rules.redials_in_a_week]
category = "繰り返し"
behaviour = "電話を切ってもすぐにかけてくる"
kind = "redial"
description = "Test rule: redials within a week."
params = { gap_minutes = 10, window_hours = 168 }
tiers = { watch = 4 }
sources = ["test"]
"""
START = datetime(2026, 9, 1)
# Days in clusters, with gaps shorter and longer than the rules' windows.
DAYS = (0, 1, 2, 6, 9, 30, 31, 44)
CALLERS = ("09011110001", "09011110002", "0312340003")
DIALLED = ("201", "211", "221", "231")
DEPARTMENTS = ("区民課", "国保年金課", "福祉政策課", "税務課")
OLD = time.time() - 7200  # written two hours ago: settled

call = st.fixed_dictionaries(
    {
        "caller": st.sampled_from(CALLERS),
        "day": st.sampled_from(DAYS),
        "minute": st.integers(0, 30).map(lambda k: 540 + 3 * k),  # 09:00 onwards, close enough to redial
        "talk": st.sampled_from([20, 240, 900, 2400, 4000]),
        "dialled": st.sampled_from(DIALLED),
        "disposition": st.sampled_from(["ANSWERED", "ANSWERED", "ANSWERED", "BUSY", "NO ANSWER"]),
        "without_ids": st.booleans(),  # a 16-column record: merged with the caller's overlapping calls
        "night": st.integers(0, 3),
        "repeats": st.integers(1, 6),  # the same call again and again: redials, many calls in a few hours
        "every": st.sampled_from([2, 4, 45]),  # minutes from one start to the next
    }
)
visit = st.fixed_dictionaries(
    {
        "caller": st.sampled_from(CALLERS),
        # a reference number beside the phone links the two, and two phones of one reference are one
        # requester: a link made on a later night moves every earlier contact of both to it
        "ref": st.sampled_from(["", "", "K-0001", "K-0002"]),
        "without_phone": st.booleans(),
        "day": st.sampled_from(DAYS),
        "minute": st.sampled_from([540, 600, 960, 1020]),
        "minutes": st.sampled_from([10, 70, 130]),
        "department": st.sampled_from(DEPARTMENTS),
        "kind": st.sampled_from(["苦情", "要望", "手続"]),
        "topic": st.sampled_from(["住民税", "道路"]),
        "exit_request": st.booleans(),
        "night": st.integers(0, 3),
    }
)


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (OLD, OLD))


def _write_night(inbox: Path, night: int, calls: list[tuple[int, dict]], visits: list[tuple[int, dict]]) -> None:
    """One night's files: 18- and 16-column Asterisk exports and a reception log."""
    rows18, rows16 = [], []
    for number, c in calls:
        for repeat in range(c["repeats"]):
            start = START + timedelta(days=c["day"], minutes=c["minute"] + repeat * c["every"])
            row = cdr18(
                c["caller"],
                start,
                dst=c["dialled"],
                talk=c["talk"] if repeat == 0 else 20,
                disposition=c["disposition"],
                uniqueid=f"{epoch(start)}.{number * 10 + repeat}",
            )
            (rows16 if c["without_ids"] else rows18).append(",".join(row.split(",")[:16]) if c["without_ids"] else row)
    if rows18:
        _put(inbox / "calls" / f"night{night}.csv", "\n".join(rows18) + "\n")
    if rows16:
        _put(inbox / "calls" / "branch" / f"night{night}.csv", "\n".join(rows16) + "\n")
    if visits:
        lines = ["visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary"]
        for number, v in visits:
            arrived = START + timedelta(days=v["day"], minutes=v["minute"])
            ended = arrived + timedelta(minutes=v["minutes"])
            exit_request = (arrived + timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M") if v["exit_request"] else ""
            fields = [
                f"V{number:05d}",
                arrived.strftime("%Y-%m-%d %H:%M"),
                ended.strftime("%Y-%m-%d %H:%M"),
                v["department"],
                v["kind"],
                v["topic"],
                "" if v["without_phone"] and v["ref"] else v["caller"],
                v["ref"],
                exit_request,
                q("合成データ"),
            ]
            lines.append(",".join(fields))
        _put(inbox / "visits" / f"night{night}.csv", "\n".join(lines) + "\n")


def _state(db_path: Path) -> dict[str, list]:
    with connect(str(db_path), read_only=True) as db:
        return {
            "flags": db.con.execute(
                "SELECT flag_id, rule_id, requester_key, group_key, severity, first_at, last_at, value, threshold, "
                "detail, contacts, evidence FROM flags ORDER BY flag_id"
            ).fetchall(),
            "evidence": db.con.execute(
                "SELECT flag_id, contact_id, started_at, ended_at, talk_s, department, source_ids "
                "FROM flag_evidence_rows ORDER BY flag_id, contact_id"
            ).fetchall(),
            "contacts": db.con.execute("SELECT * FROM contacts ORDER BY contact_id").fetchall(),
            # the hits the next night starts from: those of the last run, all of them
            "hits": db.con.execute("SELECT * EXCLUDE (flag_id) FROM rule_hits ORDER BY ALL").fetchall(),
            # Each under the flag it was last measured in (keep_hits): after two episodes merge, a
            # night's earlier hits keep the name of theirs. What the next night needs of the names:
            # the hits of one name lie within one current flag, which a stored flag's reduction
            # to two rows relies on.
            "names in more than one flag or in none": db.con.execute("""
                SELECT h.flag_id, count(DISTINCT f.flag_id) AS flags FROM rule_hits h
                LEFT JOIN flag_rows f ON f.requester_key = h.requester_key AND f.rule_id = h.rule_id
                     AND f.group_key IS NOT DISTINCT FROM h.group_key AND h.window_start >= f.first_at
                     AND h.window_end <= f.last_at
                GROUP BY h.flag_id, h.rule_id, h.requester_key, h.group_key HAVING count(DISTINCT f.flag_id) <> 1
                    OR count(*) FILTER (WHERE f.flag_id IS NULL) > 0
            """).fetchall(),
            "hits of the last run": db.con.execute(
                "SELECT value = CAST((SELECT max(run_id) FROM judge_runs) AS VARCHAR) FROM meta "
                "WHERE key = 'hits_of_run'"
            ).fetchall(),
        }


def _profile(folder: Path):
    path = folder / "profile.toml"
    path.write_text(BUNKYO.read_text(encoding="utf-8") + EXTRA_RULES, encoding="utf-8")
    return load_profile(path)


# How a night's files come in: a nightly run over the inbox, or `ingest` commands (which list the
# requesters whose contacts they change), followed by `judge` or left for the next night to judge.
WAYS = ("nightly", "ingest commands and judge", "ingest commands")


def _by_commands(db, folder: Path, night: int, profile) -> None:
    """The night's files through `ingest departments`, `ingest calls`, `ingest visits`, as the CLI does."""
    options = IngestOptions(site=profile.site)
    calls = sorted((folder / "calls").rglob(f"night{night}.csv"))
    visits = sorted((folder / "visits").glob(f"night{night}.csv"))
    for kind, paths in (("departments", [SAMPLES / "departments.csv"]), ("calls", calls), ("visits", visits)):
        if paths:
            assert not ingest_files(db, kind, [str(path) for path in paths], options).failures


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(call, min_size=1, max_size=30),
    visits=st.lists(visit, max_size=20),
    ways=st.lists(st.sampled_from(WAYS), min_size=4, max_size=4),
)
def test_records_arriving_night_by_night_in_any_order_give_the_flags_of_one_run(tmp_path_factory, calls, visits, ways):
    """Each night's files come in by a nightly run or by `ingest` commands; the last night is
    followed by a nightly run with nothing new, which judges what the commands left unjudged."""
    folder = tmp_path_factory.mktemp("increments")
    profile = _profile(folder)
    nights = sorted({c["night"] for c in calls} | {v["night"] for v in visits})
    numbered_calls, numbered_visits = list(enumerate(calls)), list(enumerate(visits))
    nightly_inbox, whole_inbox, commands_folder = folder / "nightly", folder / "whole", folder / "commands"
    for inbox in (nightly_inbox, whole_inbox):
        (inbox / "departments").mkdir(parents=True)
        shutil.copy(SAMPLES / "departments.csv", inbox / "departments" / "departments.csv")
        os.utime(inbox / "departments" / "departments.csv", (OLD, OLD))
    # Every night takes the increment's way, even where its files hold most records (a full build).
    with fixture_secret(), patch.object(contacts.build, "_mostly_new", return_value=False):
        with connect(str(folder / "nightly.duckdb")) as db:
            for night in nights:
                tonight = (
                    [(n, c) for n, c in numbered_calls if c["night"] == night],
                    [(n, v) for n, v in numbered_visits if v["night"] == night],
                )
                _write_night(whole_inbox, night, *tonight)
                if ways[night] == "nightly":
                    _write_night(nightly_inbox, night, *tonight)
                    report = run_nightly(db, nightly_inbox, profile, settle_seconds=0)
                    assert report.message is None and not report.failures
                    continue
                _write_night(commands_folder, night, *tonight)
                _by_commands(db, commands_folder, night, profile)
                if ways[night] == "ingest commands and judge":  # as `kasuhara judge` does
                    judge(db, profile, changed_from=contacts.unjudged(db) or None)
            report = run_nightly(db, nightly_inbox, profile, settle_seconds=0)
            assert report.message is None and not report.failures and contacts.unjudged(db) == {}
    with fixture_secret(), connect(str(folder / "whole.duckdb")) as db:
        report = run_nightly(db, whole_inbox, profile, settle_seconds=0)
        assert report.message is None and not report.failures
    night_by_night, at_once = _state(folder / "nightly.duckdb"), _state(folder / "whole.duckdb")
    target(len({flag[1] for flag in at_once["flags"]}), label="rules that fired")
    assert night_by_night["contacts"] == at_once["contacts"]
    assert night_by_night["flags"] == at_once["flags"]
    assert night_by_night["evidence"] == at_once["evidence"]
    assert night_by_night["hits"] == at_once["hits"]
    assert night_by_night["names in more than one flag or in none"] == []
    assert at_once["names in more than one flag or in none"] == []
    assert night_by_night["hits of the last run"] == at_once["hits of the last run"] == [(True,)]
