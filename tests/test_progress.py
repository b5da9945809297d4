"""Progress: long commands tell how far they got on a terminal, and print nothing of it under cron."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from datetime import date

from kasuhara_metrics.desk.export import EXPORTED, export_parquet
from kasuhara_metrics.judge import judge
from kasuhara_metrics.nightly import run_nightly
from kasuhara_metrics.rules import load_profile
from kasuhara_metrics.synth import synthesize

from .conftest import ingest_sample_ward
from .test_nightly import first_night

PROFILE = load_profile()


class Heard(list):
    """Every step a run told: (what, done, total)."""

    def __call__(self, what: str, done: int, total: int | None) -> None:
        assert total is None or 0 <= done <= total, (what, done, total)
        self.append((what, done, total))


def test_the_judge_tells_each_rule_in_turn_and_the_store_last(db):
    ingest_sample_ward(db)
    heard = Heard()
    judge(db, PROFILE, progress=heard)
    said = [what for what, _, _ in heard]
    rules = [f"rule {rule.id}" for rule in PROFILE.enabled_rules]
    assert said == ["the contacts to judge", *rules, "episodes", "storing flags and evidence"]
    assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard)  # never goes back


def test_the_nightly_run_tells_every_file_then_the_contacts_and_the_rules(db, tmp_path):
    inbox = tmp_path / "inbox"
    first_night(inbox)
    heard = Heard()
    report = run_nightly(db, inbox, PROFILE, settle_seconds=0, progress=heard)
    files = len(report.ingested) + len(report.failures)
    done = [(what, n) for what, n, total in heard if what.startswith("done ")]
    assert [n for _, n in done] == list(range(1, files + 1))
    assert {what.removeprefix("done ") for what, _ in done} == {os.path.basename(r.path) for r in report.ingested}
    said = [what for what, _, _ in heard]
    assert said.index("building contacts") > said.index(done[-1][0])
    assert said[-1] == "storing flags and evidence"


def test_synth_tells_each_day_and_export_each_table(db, tmp_path):
    heard = Heard()
    synthesize(200, tmp_path / "synth", days=7, start=date(2026, 9, 7), progress=heard)
    assert [what for what, _, _ in heard] == [f"2026-09-{day:02d}" for day in (7, 8, 9, 10, 11)]  # working days
    ingest_sample_ward(db)
    judge(db, PROFILE)
    heard = Heard()
    export_parquet(db, tmp_path / "export", progress=heard)
    assert [what for what, _, _ in heard] == list(EXPORTED)


def _judge_command(db_path: str, stderr, **forcing: str) -> subprocess.Popen:
    quiet = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.Popen(
        [sys.executable, "-m", "kasuhara_metrics", "--db", db_path, "judge"],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env={**quiet, "COLUMNS": "160", **forcing},  # a terminal wide enough for the whole line
    )


def test_a_terminal_sees_the_bar_and_cron_sees_nothing_of_it(db, db_path):
    ingest_sample_ward(db)
    db.close()
    # On a terminal (stderr is a pseudo-terminal): the bar, with what the judge is doing.
    leader, follower = os.openpty()
    process = _judge_command(db_path, follower)
    os.close(follower)
    drawn = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the command exited and closed its side
            chunk = b""
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert process.wait(60) == 0
    # (a judge of the samples is over before the bar's next frame: the last step is what it shows)
    assert b"judge: storing flags and evidence" in drawn
    # Under cron (stderr is a file or a pipe): not a character of it.
    process = _judge_command(db_path, subprocess.PIPE)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0
    assert errors == b""
    # rich's own switches still draw it into a pipe (a CI log that shows colours).
    process = _judge_command(db_path, subprocess.PIPE, FORCE_COLOR="1")
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0
    assert b"judge: storing flags and evidence" in errors
