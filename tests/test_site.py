"""common/site.py: one SiteSettings for every command, from defaults, the profile, the site file and --timezone."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.site import SiteSettings, resolve_site
from kasuhara_metrics.rules import default_profile_path

from .conftest import write
from .helpers import cdr18

# A long call late on Sunday 13 September in London: 2026-W37 there, but Monday 07:00 (2026-W38) in Tokyo.
SUNDAY_NIGHT = datetime(2026, 9, 13, 23, 0)
LONDON = '[site]\ntimezone = "Europe/London"\n'


def export(tmp_path: Path) -> Path:
    # 16 columns: no uniqueid, so the file's clock is the site's.
    lines = [
        ",".join(cdr18("09012345678", SUNDAY_NIGHT, talk=45 * 60, ring=0).split(",")[:16]),
        ",".join(cdr18("08011112222", SUNDAY_NIGHT - timedelta(hours=2), talk=120, ring=0).split(",")[:16]),
    ]
    return write(tmp_path, "Master.csv", "\n".join(lines) + "\n")


def cli(db: Path, *args: str, env: dict | None = None):
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False, env=env)
    assert result.exit_code in (0, 3), result.output
    return result


def answers(db: Path, tmp_path: Path, *site_args: str, env: dict | None = None) -> dict:
    """What every reading command says of the same database."""
    week37 = json.loads(cli(db, *site_args, "flags", "--week", "2026-W37", "--format", "json", env=env).output)
    week38 = json.loads(cli(db, *site_args, "flags", "--week", "2026-W38", "--format", "json", env=env).output)
    report = cli(db, *site_args, "report", "--week", "2026-W37", "--out", str(tmp_path / "reports"), env=env).output
    with connect(str(db), read_only=True) as opened:
        stored = opened.con.execute(
            "SELECT strftime(started_at AT TIME ZONE 'Europe/London', '%Y-%m-%d %H:%M') FROM call_legs ORDER BY 1"
        ).fetchall()
        judged_zone = opened.con.execute("SELECT count(*) FROM judge_runs").fetchall()[0][0]
    return {
        "week37": [(f["flag_id"], f["rule_id"], f["first_at"]) for f in week37],
        "week38": week38,
        "report": report.splitlines()[0],
        "stored": stored,
        "judged": judged_zone > 0,
    }


def test_ingest_nightly_judge_flags_and_report_give_one_answer_in_a_non_default_zone(tmp_path):
    site = write(tmp_path, "site.toml", LONDON)
    calls = export(tmp_path)
    # The commands one by one, with --site.
    by_hand = tmp_path / "by-hand.duckdb"
    cli(by_hand, "--site", str(site), "ingest", "calls", str(calls))
    cli(by_hand, "--site", str(site), "judge")
    first = answers(by_hand, tmp_path / "a", "--site", str(site))
    # The nightly batch over an inbox holding the same file, with the site file from the environment.
    inbox = tmp_path / "inbox" / "calls"
    inbox.mkdir(parents=True)
    (inbox / "Master.csv").write_bytes(calls.read_bytes())
    os.utime(inbox / "Master.csv", (time.time() - 7200,) * 2)
    nightly = tmp_path / "nightly.duckdb"
    env = {"KASUHARA_SITE": str(site)}
    cli(nightly, "nightly", "--inbox", str(tmp_path / "inbox"), env=env)
    second = answers(nightly, tmp_path / "b", env=env)
    # A profile whose [site] names the zone, and no site file.
    profile = write(
        tmp_path,
        "london.toml",
        default_profile_path()
        .read_text(encoding="utf-8")
        .replace('timezone = "Asia/Tokyo"', 'timezone = "Europe/London"'),
    )
    env = {"KASUHARA_PROFILE": str(profile)}
    by_profile = tmp_path / "by-profile.duckdb"
    cli(by_profile, "ingest", "calls", str(calls), env=env)
    cli(by_profile, "judge", env=env)
    third = answers(by_profile, tmp_path / "c", env=env)

    assert first == second == third
    assert first["stored"] == [("2026-09-13 21:00",), ("2026-09-13 23:00",)]  # naive times read in London
    assert [rule for _, rule, _ in first["week37"]] == ["long_call"]
    assert first["week37"][0][2].startswith("2026-09-13T23:00:00+01:00")  # shown in the site's zone
    assert first["week38"] == []
    assert first["report"] == "2026-W37: 1 flag (1 new, 0 ongoing, 0 alert); 1 decision"


def test_the_same_database_read_in_tokyo_puts_the_flag_in_the_next_week(tmp_path):
    site = write(tmp_path, "site.toml", LONDON)
    db = tmp_path / "k.duckdb"
    cli(db, "--site", str(site), "ingest", "calls", str(export(tmp_path)))
    cli(db, "--site", str(site), "judge")
    # --timezone is the strongest setting: the stored instant is 07:00 on Monday in Tokyo.
    week38 = json.loads(
        cli(
            db, "--site", str(site), "--timezone", "Asia/Tokyo", "flags", "--week", "2026-W38", "--format", "json"
        ).output
    )
    assert [f["rule_id"] for f in week38] == ["long_call"]


def test_settings_resolve_from_weakest_to_strongest(tmp_path, monkeypatch):
    base = SiteSettings(timezone="Asia/Tokyo", counter_closing="17:00", clock=(("asterisk", "utc"),))
    site = write(tmp_path, "site.toml", '[site]\ntimezone = "Europe/London"\n[site.clock]\ncucm = "site"\n')
    resolved = resolve_site(base, str(site))
    # The site file's keys replace the profile's; the others stay, clocks per source.
    assert (resolved.timezone, resolved.counter_closing) == ("Europe/London", "17:00")
    assert dict(resolved.clock) == {"asterisk": "utc", "cucm": "site"}
    assert resolve_site(base, str(site), "America/New_York").timezone == "America/New_York"
    monkeypatch.setenv("KASUHARA_TZ", "UTC")
    assert resolve_site(base).timezone == "UTC"


@pytest.mark.parametrize(
    "text,message",
    [
        ('[site]\ntimezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
        ('[site]\nstaff_numbers = "0312345678"\n', "site.staff_numbers must be a list of strings"),
    ],
)
def test_a_wrong_site_file_fails_every_command_the_same_way(tmp_path, text, message):
    site = write(tmp_path, "site.toml", text)
    for args in (["ingest", "calls", str(export(tmp_path))], ["judge"], ["flags"]):
        result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.duckdb"), "--site", str(site), *args])
        assert result.exit_code == 1 and message in result.output, (args, result.output)


def test_every_source_with_times_has_a_clock_setting():
    from kasuhara_metrics.common.site import CLOCK_SOURCES
    from kasuhara_metrics.ingest import SOURCES

    assert set(CLOCK_SOURCES) == {s.name for s in SOURCES.values() if s.record_kind != "departments"}
