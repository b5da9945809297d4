"""nightly.py: the unattended batch over an inbox - one transaction, one run at a time, idempotent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kasuhara_metrics import contacts
from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.lock import RunLock
from kasuhara_metrics.judge import judge
from kasuhara_metrics.judge.hits import HITS_OF_CODE, judge_code_hash
from kasuhara_metrics.rules import load_profile

from .conftest import CALL_EXPORTS, SAMPLES

OLD = time.time() - 7200  # files written two hours ago: settled


def put(inbox: Path, source: Path, target: str) -> Path:
    path = inbox / target
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, path)
    os.utime(path, (OLD, OLD))
    return path


def first_night(inbox: Path) -> None:
    put(inbox, SAMPLES / "departments.csv", "departments/departments.csv")
    put(inbox, SAMPLES / "asterisk" / "Master-2026-09.csv", "calls/Master-2026-09.csv")
    put(inbox, SAMPLES / "asterisk" / "Master-branch-16col.csv", "calls/branch/Master.csv")
    put(inbox, SAMPLES / "visits" / "visits-2026-09.csv", "visits/visits-2026-09.csv")


def second_night(inbox: Path) -> None:
    put(inbox, SAMPLES / "asterisk" / "Master-2026-10-resent.csv", "calls/Master-2026-10.csv")
    put(inbox, SAMPLES / "mapping-example.toml", "calls/pbx/mapping.toml")
    put(inbox, SAMPLES / "pbx" / "calls-cp932.csv", "calls/pbx/2026-10.csv")
    put(inbox, SAMPLES / "visits" / "visits-2026-10-cp932.csv", "visits/visits-2026-10.csv")


def nightly(db_path: str, inbox: Path, *extra: str):
    return CliRunner().invoke(main, ["--db", db_path, "nightly", "--inbox", str(inbox), *extra], catch_exceptions=False)


def flag_state(db_path: str):
    with connect(db_path, read_only=True) as db:
        return db.con.execute(
            "SELECT flag_id, rule_id, requester_key, severity, first_at, last_at, value, evidence "
            "FROM flags ORDER BY flag_id"
        ).fetchall()


def table_counts(db_path: str) -> dict[str, int]:
    with connect(db_path, read_only=True) as db:
        tables = [
            r[0]
            for r in db.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        return {t: db.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def test_two_nights_give_the_flags_of_one_run_and_a_third_adds_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    nightly_db = str(tmp_path / "nightly.duckdb")
    one = nightly(nightly_db, inbox)
    assert one.exit_code == 3, one.output  # the September file has rejected rows
    assert "4 new files" in one.output and "rule health" in one.output
    second_night(inbox)
    two = nightly(nightly_db, inbox)
    assert two.exit_code == 3 and "3 new files, 4 already ingested" in two.output  # the PBX export too
    once_db = str(tmp_path / "once.duckdb")
    assert nightly(once_db, inbox).exit_code == 3
    assert flag_state(nightly_db) == flag_state(once_db) and len(flag_state(once_db)) >= 10
    before = table_counts(nightly_db)
    three = nightly(nightly_db, inbox)
    assert (
        three.exit_code == 0
        and "0 new files, 7 already ingested" in three.output
        and "nothing new to judge" in three.output
    )
    after = table_counts(nightly_db)
    assert {t: n for t, n in after.items() if t not in ("nightly_runs", "nightly_files")} == {
        t: n for t, n in before.items() if t not in ("nightly_runs", "nightly_files")
    }


def test_a_nightly_run_and_the_commands_after_it_never_import_pandas(tmp_path):
    """pyarrow imports pandas (0.2-0.3 s) on the first Python value a process converts, which
    kasuhara_metrics/common/arrays.py avoids: checked on two nights of every call format, visits
    and a mapped CP932 export, then the commands an analyst runs on the result."""
    inbox, db_path, log = tmp_path / "inbox", str(tmp_path / "k.duckdb"), tmp_path / "pandas.log"
    record = [sys.executable, str(Path(__file__).parent / "record_pandas.py"), str(log), "--db", db_path]
    first_night(inbox)
    for source in CALL_EXPORTS:
        put(inbox, source, f"calls/{source.parent.name}/{source.name}")
    for night in (None, second_night):
        if night:
            night(inbox)
        run = subprocess.run([*record, "nightly", "--inbox", str(inbox)], capture_output=True, text=True)
        assert run.returncode == 3 and "rule health" in run.stdout, run.stdout + run.stderr
    assert "2 new files" in run.stdout and "whose contacts changed" in run.stdout  # the second night: an increment
    requester = flag_state(db_path)[0][2]
    for command in (["flags"], ["explain", requester], ["export", "--out", str(tmp_path / "parquet")]):
        assert subprocess.run([*record, *command], capture_output=True).returncode == 0, command
    assert not log.exists(), log.read_text(encoding="utf-8")


def test_a_renamed_file_is_not_processed_again_and_a_file_being_written_waits(tmp_path):
    inbox = tmp_path / "inbox"
    put(inbox, SAMPLES / "asterisk" / "Master-17col.csv", "calls/a.csv")
    db_path = str(tmp_path / "k.duckdb")
    assert "1 new files" in nightly(db_path, inbox).output
    (inbox / "calls" / "a.csv").rename(inbox / "calls" / "renamed.csv")
    shutil.copy(SAMPLES / "asterisk" / "Master-21col.csv", inbox / "calls" / "fresh.csv")  # mtime: now
    result = nightly(db_path, inbox)
    assert "0 new files, 1 already ingested, 1 still being written" in result.output
    os.utime(inbox / "calls" / "fresh.csv", (OLD, OLD))
    assert "1 new files" in nightly(db_path, inbox).output


def test_exit_codes_say_what_happened(tmp_path):
    inbox = tmp_path / "inbox"
    put(inbox, SAMPLES / "asterisk" / "Master-17col.csv", "calls/good.csv")
    (inbox / "mystery.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    os.utime(inbox / "mystery.csv", (OLD, OLD))
    db_path = str(tmp_path / "k.duckdb")
    result = nightly(db_path, inbox)
    assert result.exit_code == 1
    assert "cannot tell what mystery.csv is" in result.output
    (inbox / "mystery.csv").unlink()
    assert nightly(db_path, inbox).exit_code == 0
    with connect(db_path, read_only=True) as db:
        assert db.con.execute("SELECT status, exit_code FROM runs ORDER BY nightly_id").fetchall() == [
            ("failed", 1),
            ("ok", 0),
        ]


def test_only_one_run_at_a_time(tmp_path):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    db_path = str(tmp_path / "k.duckdb")
    with RunLock(db_path).acquire("nightly"):
        started = time.monotonic()
        result = nightly(db_path, inbox)
        assert time.monotonic() - started < 5
    assert result.exit_code == 75
    assert "being changed by another kasuhara run (nightly, PID" in result.output


def test_a_writer_waits_for_readers_to_let_go(tmp_path):
    inbox = tmp_path / "inbox"
    put(inbox, SAMPLES / "asterisk" / "Master-17col.csv", "calls/a.csv")
    db_path = str(tmp_path / "k.duckdb")
    connect(db_path).close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({db_path!r}, read_only=True); "
            "print('ready', flush=True); time.sleep(3)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        assert nightly(db_path, inbox, "--wait", "0").exit_code == 75
        assert nightly(db_path, inbox, "--wait", "30").exit_code == 0
    finally:
        reader.kill()
        reader.wait()


@pytest.mark.parametrize("delay", [0.5, 1.5, 2.5, 3.5])
def test_a_run_killed_at_any_point_leaves_nothing_half_written(tmp_path, delay):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    second_night(inbox)
    clean = str(tmp_path / "clean.duckdb")
    nightly(clean, inbox)
    db_path = str(tmp_path / "k.duckdb")
    connect(db_path).close()
    before = table_counts(db_path)
    run = subprocess.Popen(
        [sys.executable, "-m", "kasuhara_metrics", "--db", db_path, "nightly", "--inbox", str(inbox)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    time.sleep(delay)
    run.send_signal(signal.SIGKILL)
    run.wait()
    # All or nothing: as before the run, or (killed after its commit) as after a whole run.
    assert table_counts(db_path) in (before, table_counts(clean))
    # The next run completes the work: the same flags as a run that was never interrupted.
    assert nightly(db_path, inbox).exit_code in (0, 3)
    assert flag_state(db_path) == flag_state(clean)


def test_reviews_survive_reruns_and_a_dismissed_flag_returns_only_when_it_grows(tmp_path):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    db_path = str(tmp_path / "k.duckdb")
    runner = CliRunner()

    def invoke(*a):
        return runner.invoke(main, ["--db", db_path, *a], catch_exceptions=False)

    nightly(db_path, inbox)
    listed = json.loads(invoke("flags", "--format", "json").output)
    assert listed and all(f["review_status"] == "unreviewed" and f["needs_review"] for f in listed)
    target = listed[0]["flag_id"]
    result = invoke("review", target, "--status", "dismissed", "--note", "known case", "--by", "佐藤")
    assert result.exit_code == 0 and "dismissed by 佐藤" in result.output
    second_night(inbox)
    nightly(db_path, inbox)
    assert invoke("judge").exit_code == 0  # re-judging keeps the decision too
    after = {f["flag_id"]: f for f in json.loads(invoke("flags", "--format", "json").output)}
    assert after[target]["review_status"] == "dismissed"
    assert not after[target]["needs_review"] or after[target]["last_at"] > listed[0]["last_at"]
    pending = json.loads(invoke("flags", "--format", "json", "--needs-review").output)
    assert target not in {f["flag_id"] for f in pending}
    bad = invoke("review", "Fnope", "--status", "confirmed", "--by", "x")
    assert bad.exit_code == 1 and "no current flag Fnope" in bad.output


def test_export_writes_parquet_without_raw_numbers(tmp_path):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    db_path = str(tmp_path / "k.duckdb")
    nightly(db_path, inbox)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--db", db_path, "export", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0
    for name in ("flags", "flag_evidence", "contacts"):
        table = pq.read_table(out / f"{name}.parquet")
        assert table.num_rows > 0
        text = str(table.to_pylist())
        assert "09010000" not in text and "+8190" not in text


def test_files_unchanged_since_an_earlier_run_are_not_read_again(tmp_path):
    inbox = tmp_path / "inbox"
    path = put(inbox, SAMPLES / "asterisk" / "Master-17col.csv", "calls/a.csv")
    db_path = str(tmp_path / "k.duckdb")
    assert "1 new files" in nightly(db_path, inbox).output
    # Same path, size and time: not opened at all (unreadable garbage would otherwise fail the run).
    path.write_bytes(b"\xff" * path.stat().st_size)
    os.utime(path, (OLD, OLD))
    result = nightly(db_path, inbox)
    assert result.exit_code == 0 and "0 new files, 1 already ingested" in result.output
    with connect(db_path, read_only=True) as db:
        assert db.con.execute("SELECT message FROM nightly_files WHERE nightly_id = 2").fetchall() == [
            ("unchanged since nightly run 1",)
        ]


def test_a_file_changed_in_place_is_read_again_and_recheck_reads_one_whose_time_was_kept(tmp_path):
    inbox = tmp_path / "inbox"
    path = put(inbox, SAMPLES / "asterisk" / "Master-17col.csv", "calls/a.csv")
    db_path = str(tmp_path / "k.duckdb")
    nightly(db_path, inbox)
    # The exporter rewrites the file: a new size or time is enough to have it read.
    shutil.copy(SAMPLES / "asterisk" / "Master-21col.csv", path)
    os.utime(path, (OLD + 60, OLD + 60))
    assert "1 new files, 0 already ingested" in nightly(db_path, inbox).output
    # Rewritten again with its size and time kept (its lines in another order): not noticed, unless asked.
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(reversed(lines)))
    os.utime(path, (OLD + 60, OLD + 60))
    assert "0 new files, 1 already ingested" in nightly(db_path, inbox).output
    rechecked = nightly(db_path, inbox, "--recheck")
    assert "1 new files, 0 already ingested" in rechecked.output
    assert f"{len(lines)} duplicates" in rechecked.output  # the same records again: counted, not added
    with connect(db_path, read_only=True) as db:
        assert db.con.execute("SELECT count(DISTINCT sha256) FROM ingest_log").fetchall() == [(3,)]


def test_a_failed_run_remembers_no_file_and_the_next_run_reads_them(tmp_path, monkeypatch):
    import kasuhara_metrics.nightly as nightly_module

    monkeypatch.setenv("KASUHARA_SECRET", "one-secret-for-both-databases")  # comparable pseudonyms
    inbox = tmp_path / "inbox"
    first_night(inbox)
    db_path = str(tmp_path / "k.duckdb")

    def broken_judge(*args, **kwargs):
        raise RuntimeError("judging failed")

    with monkeypatch.context() as patched:
        patched.setattr(nightly_module, "judge", broken_judge)
        failed = nightly(db_path, inbox)
    assert failed.exit_code == 1 and "the run changed nothing" in failed.output
    with connect(db_path, read_only=True) as db:
        assert db.con.execute("SELECT count(*) FROM inbox_files").fetchall() == [(0,)]
        assert db.con.execute("SELECT count(*) FROM call_legs").fetchall() == [(0,)]
    again = nightly(db_path, inbox)
    assert "4 new files, 0 already ingested" in again.output
    fresh = str(tmp_path / "fresh.duckdb")
    assert again.exit_code == nightly(fresh, inbox).exit_code  # 3: the samples hold rejected rows on purpose
    assert flag_state(db_path) == flag_state(fresh) != []


def test_the_summary_counts_calls_never_judged_per_file(tmp_path):
    inbox = tmp_path / "inbox"
    put(inbox, SAMPLES / "asterisk" / "Master-annex-utc.csv", "calls/annex/Master.csv")
    result = nightly(str(tmp_path / "k.duckdb"), inbox)
    assert result.exit_code == 0, result.output
    line = next(text for text in result.output.splitlines() if text.startswith("not judged:"))
    assert line.startswith("not judged: 6 calls whose caller is not a valid number (")
    assert "calls/annex/Master.csv: 6 of " in line


def test_a_file_that_failed_is_remembered_and_skipped_until_it_changes(tmp_path):
    # The audit: an empty file made every later nightly exit 1, though each stored the rest.
    inbox, db = tmp_path / "inbox", str(tmp_path / "k.duckdb")
    put(inbox, SAMPLES / "departments.csv", "departments/departments.csv")
    empty = inbox / "calls" / "Master-empty.csv"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    os.utime(empty, (OLD, OLD))
    first = nightly(db, inbox)
    assert first.exit_code == 1 and "Master-empty.csv is empty" in first.output
    second = nightly(db, inbox)
    assert second.exit_code == 0, second.output
    assert "skipped, unchanged since it failed: " in second.output and "Master-empty.csv" in second.output
    with connect(db, read_only=True) as opened:
        assert opened.con.execute(
            "SELECT outcome FROM nightly_files WHERE path LIKE '%empty%' ORDER BY nightly_id"
        ).fetchall() == [("failed",), ("failed before",)]
    assert nightly(db, inbox, "--recheck").exit_code == 1  # asked to: read again, and it fails again
    # Fixed (the complete export arrives under the same name): read, and remembered as taken.
    shutil.copy(SAMPLES / "asterisk" / "Master-21col.csv", empty)
    os.utime(empty, (OLD + 60, OLD + 60))
    third = nightly(db, inbox)
    assert third.exit_code == 0 and "skipped, unchanged since it failed" not in third.output
    assert nightly(db, inbox).exit_code == 0


def hit_state(db_path: str):
    with connect(db_path, read_only=True) as db:
        return db.con.execute("SELECT * EXCLUDE (flag_id) FROM rule_hits ORDER BY ALL").fetchall()


def test_contacts_an_ingest_command_changed_are_judged_by_the_next_nightly_run(tmp_path):
    """`kasuhara ingest` rebuilds contacts without judging and lists whose changed: the next nightly
    run judges those requesters besides its own, so neither the flags nor the judge's stored hits
    (which an increment extends) stay those of the contacts before."""
    inbox, once_inbox = tmp_path / "inbox", tmp_path / "once"
    first_night(inbox)
    first_night(once_inbox)
    db_path = str(tmp_path / "nightly.duckdb")
    assert nightly(db_path, inbox).exit_code == 3
    late = SAMPLES / "asterisk" / "Master-2026-10-resent.csv"
    ingested = CliRunner().invoke(main, ["--db", db_path, "ingest", "calls", str(late)], catch_exceptions=False)
    assert ingested.exit_code == 0, ingested.output
    with connect(db_path, read_only=True) as db:
        listed = contacts.unjudged(db)
    assert listed, "the ingest command lists the requesters whose contacts it changed"
    put(once_inbox, late, "calls/Master-2026-10.csv")
    for folder in (inbox, once_inbox):
        put(folder, SAMPLES / "visits" / "visits-2026-10-cp932.csv", "visits/visits-2026-10.csv")
    night = nightly(db_path, inbox)
    assert night.exit_code == 0 and "requesters whose contacts changed" in night.output, night.output
    with connect(db_path, read_only=True) as db:
        assert contacts.unjudged(db) == {}
        judged = db.con.execute("SELECT requesters_judged FROM judge_runs ORDER BY run_id DESC LIMIT 1").fetchall()
    assert judged[0][0] >= len(listed)
    once_db = str(tmp_path / "once.duckdb")
    assert nightly(once_db, once_inbox).exit_code == 3
    assert flag_state(db_path) == flag_state(once_db)
    assert hit_state(db_path) == hit_state(once_db)


def test_a_judge_run_deletes_the_changes_it_judged_and_a_run_as_of_a_day_leaves_everyone(tmp_path):
    """A run over some requesters takes their listed changes only; a run `--as-of` a day leaves
    flags without what came after it, so the next run judges everyone, even with nothing new."""
    runner = CliRunner()
    daily, once = str(tmp_path / "daily.duckdb"), str(tmp_path / "once.duckdb")
    calls = [SAMPLES / "asterisk" / "Master-2026-09.csv", SAMPLES / "asterisk" / "Master-2026-10-resent.csv"]
    for db_path, days in ((daily, [calls[:1], calls[1:]]), (once, [calls])):
        runner.invoke(main, ["--db", db_path, "ingest", "departments", str(SAMPLES / "departments.csv")])
        for day in days:
            assert runner.invoke(main, ["--db", db_path, "ingest", "calls", *map(str, day)]).exit_code == 0
            assert runner.invoke(main, ["--db", db_path, "judge"]).exit_code == 0
    with connect(daily) as db:  # one more change listed by hand, for two requesters
        listed = db.con.execute(
            "SELECT requester_key, min(started_at) FROM contacts WHERE requester_key IS NOT NULL "
            "GROUP BY ALL ORDER BY ALL LIMIT 2"
        ).fetchall()
        db.con.executemany("INSERT INTO unjudged_changes VALUES (?, ?)", listed)
        db.set_meta(contacts.UNJUDGED, contacts.LISTED)
        judge(db, load_profile(), requesters=[listed[0][0]])
        assert list(contacts.unjudged(db)) == [listed[1][0]]
    as_of = runner.invoke(main, ["--db", daily, "judge", "--as-of", "2026-09-15"])
    assert as_of.exit_code == 0 and flag_state(daily) != flag_state(once)
    with connect(daily, read_only=True) as db:
        assert contacts.unjudged(db) is None  # everyone
    empty = tmp_path / "inbox"
    empty.mkdir()
    night = nightly(daily, empty)
    assert night.exit_code == 0 and "judged everyone" in night.output, night.output
    assert flag_state(daily) == flag_state(once) and hit_state(daily) == hit_state(once)


def test_judge_after_ingest_commands_takes_their_changes_only_and_everyone_when_asked(tmp_path):
    """The README's commands day by day: `ingest calls` and `judge` on the second day judge the
    requesters whose contacts the day changed; on the third, hits stored by another version of the
    judge's code make it judge everyone. The flags and stored hits are those of judging everyone
    once; `judge --everyone` judges everyone and changes nothing."""
    runner = CliRunner()

    def run(db_path: str, *command: str):
        result = runner.invoke(main, ["--db", db_path, *command], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    days = (
        [SAMPLES / "asterisk" / "Master-2026-09.csv", SAMPLES / "asterisk" / "Master-branch-16col.csv"],
        [SAMPLES / "asterisk" / "Master-2026-10-resent.csv"],
    )
    daily, once = str(tmp_path / "daily.duckdb"), str(tmp_path / "once.duckdb")
    for db_path in (daily, once):
        run(db_path, "ingest", "departments", str(SAMPLES / "departments.csv"))
    run(daily, "ingest", "calls", *map(str, days[0]))
    assert "judged the" not in run(daily, "judge").output  # the first run: everyone
    run(daily, "ingest", "calls", *map(str, days[1]))
    with connect(daily, read_only=True) as db:
        listed = len(contacts.unjudged(db))
    increment = run(daily, "judge").output
    assert f"judged the {listed} requesters whose contacts changed since the last run" in increment
    assert f"- the {listed} requesters judged" in increment  # the rule table counts theirs only
    with connect(daily) as db:  # as if an earlier version of kasuhara had judged
        db.set_meta(HITS_OF_CODE, "another version")
    run(daily, "ingest", "visits", str(SAMPLES / "visits" / "visits-2026-10-cp932.csv"))
    with connect(daily, read_only=True) as db:
        assert contacts.unjudged(db)
    assert "judged the" not in run(daily, "judge").output
    with connect(daily, read_only=True) as db:
        assert db.meta(HITS_OF_CODE) == judge_code_hash()
    run(once, "ingest", "calls", *map(str, days[0] + days[1]))
    run(once, "ingest", "visits", str(SAMPLES / "visits" / "visits-2026-10-cp932.csv"))
    run(once, "judge")
    assert flag_state(daily) == flag_state(once) and hit_state(daily) == hit_state(once)
    # nothing changed since: everyone; and asked to, everyone, with nothing to change
    for command in (["judge"], ["judge", "--everyone"]):
        again = run(daily, *command).output
        assert "judged the" not in again and "(0 new, 0 updated, 0 gone)" in again, again
    assert flag_state(daily) == flag_state(once)
