"""common/vault.py: raw lines, free text and notes live apart, in a 0600 file; the database holds none (issue 12)."""

from __future__ import annotations

import os
import stat
from datetime import datetime

import duckdb
import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.schema import MIGRATIONS
from kasuhara_metrics.common.vault import vault_path

from .conftest import TEST_SECRET, rows, scalar, write
from .helpers import cdr18

NAME, NUMBER = "山田太郎", "090-5123-4567"


def cli(db_path: str, *args: str):
    return CliRunner().invoke(main, ["--db", db_path, *args], catch_exceptions=False)


def test_the_vault_is_the_owners_alone_and_the_database_its_groups(db_path, tmp_path):
    visits = write(
        tmp_path,
        "v.csv",
        "visit_id,arrived_at,ended_at,department,kind,topic,phone,summary\n"
        f"V1,2026-09-01 10:00,2026-09-01 10:20,税務課,苦情,住民税,,{NAME}様\n",
    )
    assert cli(db_path, "ingest", "visits", str(visits)).exit_code == 0
    assert stat.S_IMODE(os.stat(vault_path(db_path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db_path).st_mode) & 0o027 == 0  # never readable by others, whatever the umask
    out = tmp_path / "exports"
    assert cli(db_path, "export", "--out", str(out)).exit_code == 0
    assert all(stat.S_IMODE(os.stat(p).st_mode) & 0o027 == 0 for p in out.iterdir())


def test_rejected_lines_are_revealed_from_the_vault_only_when_asked(db_path, tmp_path):
    bad = cdr18("09012345678", datetime(2026, 9, 1, 10)).replace("2026-09-01 10:00:00", "2026-13-01 10:00:00")
    calls = write(tmp_path, "c.csv", "\n".join([cdr18("09011112222", datetime(2026, 9, 1, 9)), bad]) + "\n")
    assert cli(db_path, "ingest", "calls", str(calls)).exit_code == 0
    hidden = cli(db_path, "rejects", "--format", "json").output
    assert "09012345678" not in hidden and '"reason"' in hidden
    shown = cli(db_path, "rejects", "--reveal", "--format", "json").output
    assert "09012345678" in shown and "2026-13-01 10:00:00" in shown
    # Without the vault (an analyst's copy of the database), revealing says what is missing.
    os.remove(vault_path(db_path))
    result = cli(db_path, "rejects", "--reveal")
    assert result.exit_code == 1 and "there is no vault at" in result.output


def test_review_notes_live_in_the_vault_and_leave_only_when_asked(db_path, tmp_path):
    import pyarrow.parquet as pq

    calls = write(tmp_path, "c.csv", cdr18("09012345678", datetime(2026, 9, 1, 10), talk=65 * 60) + "\n")
    assert cli(db_path, "ingest", "calls", str(calls)).exit_code == 0
    assert cli(db_path, "judge").exit_code == 0
    with connect(db_path, read_only=True) as db:
        flag_id = scalar(db, "SELECT flag_id FROM flags")
    assert (
        cli(db_path, "review", flag_id, "--status", "watching", "--note", f"{NAME} {NUMBER}", "--by", "佐藤").exit_code
        == 0
    )
    with connect(db_path, read_only=True) as db:
        assert NAME not in str(rows(db, "SELECT * FROM flags")) + str(rows(db, "SELECT * FROM reviews"))
        assert scalar(db, "SELECT has_review_note FROM flags")
    plain, noted = tmp_path / "plain", tmp_path / "noted"
    cli(db_path, "export", "--out", str(plain))
    cli(db_path, "export", "--out", str(noted), "--with-notes")
    assert "review_note" not in pq.read_table(plain / "flags.parquet").column_names
    assert pq.read_table(noted / "flags.parquet")["review_note"].to_pylist() == [f"{NAME} {NUMBER}"]


def test_an_older_database_moves_its_raw_text_to_the_vault_on_upgrade(tmp_path, monkeypatch):
    path = str(tmp_path / "old.duckdb")
    con = duckdb.connect(path)
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    for version, step in enumerate(MIGRATIONS[:7], start=1):  # the schema before the vault
        con.execute(step)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute(
        "INSERT INTO ingest_log VALUES (1, 'v.csv', 'abc123', 'visits', 'visits-csv', 'utf-8', 'Asia/Tokyo', "
        "2, 1, 1, 0, now(), now(), NULL, 'Asia/Tokyo (site time zone)')"
    )
    con.execute(f"INSERT INTO rejects VALUES (1, 'v.csv', 3, 'no visit_id', ',2026-09-01 10:00,,,,,{NUMBER}')")
    con.execute(
        "INSERT INTO visit_records VALUES (1, 2, 42, 'V1', '2026-09-01 10:00+09', '2026-09-01 10:20+09', "
        f"'税務課', 'complaint', '苦情', '住民税 {NAME}', NULL, 'none', NULL, NULL)"
    )
    con.execute(f"INSERT INTO visit_summaries VALUES (1, 2, 'V1', '{NAME}様の件')")
    con.execute("INSERT INTO departments VALUES ('+81355550101', 'Rkey', '税務課', 1)")
    con.close()
    monkeypatch.delenv("KASUHARA_SECRET")  # the upgrade codes text with the site's secret: it needs it
    with pytest.raises(Exception, match="needs the pseudonym secret"):
        connect(path)
    monkeypatch.setenv("KASUHARA_SECRET", TEST_SECRET)
    with connect(path) as db:
        held = (
            str(rows(db, "SELECT * FROM rejects"))
            + str(rows(db, "SELECT * FROM visits"))
            + str(rows(db, "SELECT * FROM departments"))
        )
        assert NAME not in held and "5123" not in held and "355550101" not in held
        assert scalar(db, "SELECT department FROM visits") == "税務課"  # the code resolves through the list
        assert db.vault().rows("SELECT raw_text FROM reject_lines") == [(f",2026-09-01 10:00,,,,,{NUMBER}",)]
        assert db.vault().rows("SELECT summary FROM visit_summaries") == [(f"{NAME}様の件",)]
        assert (f"住民税 {NAME}",) in db.vault().rows("SELECT raw FROM raw_values WHERE kind = 'topic'")


def test_a_nightly_run_forgets_the_vault_rows_of_a_run_that_rolled_back(db_path, tmp_path, monkeypatch):
    """The vault is written before the records, outside their transaction: when a run rolls back,
    its files' free text stays in the vault until the next run removes it."""
    from kasuhara_metrics import nightly

    def visits_file(name: str, visit_id: str, summary: str) -> None:
        path = tmp_path / "inbox" / "visits" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "visit_id,arrived_at,ended_at,department,kind,topic,phone,summary\n"
            f"{visit_id},2026-09-01 10:00,2026-09-01 10:20,税務課,苦情,住民税,,{summary}\n",
            encoding="utf-8",
        )
        os.utime(path, (0, 0))  # settled long ago

    def failing_judge(*args, **kwargs):
        raise RuntimeError("the judge failed")

    visits_file("a.csv", "V1", f"{NAME}様の件")
    with monkeypatch.context() as patched:
        patched.setattr(nightly, "judge", failing_judge)
        assert cli(db_path, "nightly", "--inbox", str(tmp_path / "inbox")).exit_code != 0
    with connect(db_path, read_only=True) as db:
        assert rows(db, "SELECT count(*) FROM visit_records") == [(0,)]
        assert db.vault().rows("SELECT summary FROM visit_summaries") == [(f"{NAME}様の件",)]
    os.remove(tmp_path / "inbox" / "visits" / "a.csv")  # withdrawn before the next night
    visits_file("b.csv", "V2", "住所変更の件")
    assert cli(db_path, "nightly", "--inbox", str(tmp_path / "inbox")).exit_code == 0
    with connect(db_path, read_only=True) as db:
        assert db.vault().rows("SELECT summary FROM visit_summaries") == [("住所変更の件",)]
