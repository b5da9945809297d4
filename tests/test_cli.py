"""The `kasuhara` command as a user meets it: exit codes, one-line errors, read-only queries."""

from __future__ import annotations

import json
from datetime import datetime

import click
import pytest
from click.testing import CliRunner

from kasuhara_metrics.cli import main

from .conftest import FILES, SAMPLES, write
from .helpers import cdr18


@pytest.fixture
def run(db_path):
    runner = CliRunner()

    def invoke(*args, **kwargs):
        return runner.invoke(main, ["--db", db_path, *args], catch_exceptions=False, **kwargs)

    return invoke


def test_ingest_prints_one_summary_line_per_file(run):
    result = run(
        "ingest", "calls", str(FILES / "asterisk" / "cdr_csv-18.csv"), str(FILES / "asterisk" / "cdr_csv-16.csv")
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith(
        "cdr_csv-18.csv: asterisk-cdr_csv-18, utf-8, clock Asia/Tokyo (site time zone): "
        "2 rows read, 2 kept, 0 rejected, 0 duplicates"
    )
    assert lines[1].endswith(
        "cdr_csv-16.csv: asterisk-cdr_csv-16, utf-8, clock Asia/Tokyo (site time zone): "
        "3 rows read, 3 kept, 0 rejected, 0 duplicates"
    )
    again = run("ingest", "calls", str(FILES / "asterisk" / "cdr_csv-18.csv"))
    assert "already ingested (same content as" in again.output


def test_a_missing_file_fails_with_the_file_and_the_fix_and_others_still_load(run, tmp_path):
    result = run("ingest", "calls", str(tmp_path / "nope.csv"), str(FILES / "asterisk" / "cdr_csv-18.csv"))
    assert result.exit_code == 1
    assert "nope.csv does not exist - check the path" in result.output
    assert "2 kept" in result.output


def test_an_unknown_format_names_the_line_and_suggests_a_mapping(run, tmp_path):
    path = write(tmp_path, "calls.csv", "日時,番号\n2026/09/01 9:00,09012345678\n")
    result = run("ingest", "calls", str(path))
    assert result.exit_code == 1
    assert (
        "calls.csv does not look like an export of a phone system this version knows: line 1 has 2 columns"
        in result.output
    )
    assert "--mapping FILE" in result.output and "calls.csv:1" in result.output


def test_a_bad_mapping_is_reported_before_any_file_is_read(run, tmp_path):
    mapping = write(tmp_path, "m.toml", "[columns]\nstart = '日時'\n")
    result = run("ingest", "calls", "--mapping", str(mapping), str(tmp_path / "never-read.csv"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: name the caller") and "m.toml:1" in result.output


def test_conflicting_options_are_refused(run, tmp_path):
    result = run("ingest", "calls", "--mapping", "m.toml", "--encoding", "cp932", "x.csv")
    assert result.exit_code == 2 and "Use just one of --mapping or --encoding" in result.output


@pytest.fixture
def loaded(run, tmp_path):
    lines = [cdr18("09012345678", datetime(2026, 9, 1, 9, m)) for m in (0, 10, 20)]
    assert run("ingest", "calls", str(write(tmp_path, "c.csv", "\n".join(lines) + "\n"))).exit_code == 0
    return run


def test_query_outputs_csv_and_json(loaded):
    csv_out = loaded("query", "SELECT count(*) AS n FROM contacts", "--format", "csv")
    assert csv_out.output == "n\n3\n"
    js = json.loads(
        loaded("query", "SELECT caller_class, count(*) AS n FROM calls GROUP BY ALL", "--format", "json").output
    )
    assert js == [{"caller_class": "external", "n": 3}]


def test_a_table_shows_a_long_lists_first_items_and_csv_and_json_every_item(loaded):
    """A year-long flag's evidence holds thousands of ids: a terminal table shows the first ten."""
    sql = "SELECT 'x' AS k, [format('id{:02d}', i) FOR i IN range(25)] AS ids, ['a', 'b'] AS few"
    table = loaded("query", sql, env={"COLUMNS": "200"}).output
    # the cell folds over lines of the column: read it without the borders and spaces
    cells = " ".join(line.split("│")[2].strip() for line in table.splitlines() if line.count("│") == 4)
    assert cells.startswith("id00, id01,") and cells.endswith("id09, ... (15 more: --format csv lists all)")
    assert "id10" not in table and "a, b" in table
    assert loaded("query", sql, "--format", "csv").output.splitlines()[1].split(",")[1].count(";") == 24
    assert len(json.loads(loaded("query", sql, "--format", "json").output)[0]["ids"]) == 25


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM call_legs",
        "INSERT INTO meta VALUES ('x', 'y')",
        "DROP VIEW calls",
        "CREATE TABLE t (x INT)",
        "COPY call_legs TO '/tmp/kasuhara-leak.csv'",
        "ATTACH '/tmp/other.duckdb' AS other",
        "SET enable_external_access = true",
    ],
)
def test_query_cannot_change_data_or_carry_it_off(loaded, sql):
    result = loaded("query", sql)
    assert result.exit_code == 1
    assert "kasuhara query is read-only" in result.output
    assert loaded("query", "SELECT count(*) FROM calls", "--format", "csv").output == "count_star()\n3\n"


def test_query_reports_sql_errors_plainly(loaded):
    result = loaded("query", "SELECT nope FROM calls")
    assert result.exit_code == 1 and result.output.startswith("Error: query failed:")


def test_lookup_gives_the_pseudonym_of_any_written_form(loaded):
    plain = json.loads(loaded("lookup", "09012345678", "--format", "json").output)[0]
    e164 = json.loads(loaded("lookup", "+81 90-1234-5678", "--format", "json").output)[0]
    assert plain["requester"] == e164["requester"] and plain["requester"].startswith("R")
    assert plain["calls"] == 3
    withheld = json.loads(loaded("lookup", "非通知", "--format", "json").output)[0]
    assert withheld["class"] == "withheld" and withheld["requester"] is None


def test_lookup_without_the_secret_is_refused(loaded, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")
    result = loaded("lookup", "09012345678")
    assert result.exit_code == 1 and "no pseudonym secret" in result.output


def test_status_counts(loaded):
    out = json.loads(loaded("status", "--format", "json").output)
    counts = {row["what"]: row["count"] for row in out}
    assert counts["rows read"] == 3 and counts["contacts"] == 3 and counts["requesters"] == 1


def test_no_raw_phone_number_reaches_the_analytics_views(loaded):
    for view in ("calls", "contacts", "requesters", "visits", "ingest_log"):
        out = loaded("query", f"SELECT * FROM {view}", "--format", "csv").output
        assert "12345678" not in out and "9012345678" not in out


def test_a_busy_database_exits_with_a_tempfail_code(run, db_path):
    import subprocess
    import sys

    run("migrate")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({db_path!r}); print('ready', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run("ingest", "calls", str(FILES / "asterisk" / "cdr_csv-18.csv"))
        assert result.exit_code == 75 and "in use by another process" in result.output
    finally:
        holder.kill()
        holder.wait()


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield prefix + (name,)


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_command_documents_an_example(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "kasuhara " in result.output.split("Example:")[1]


def test_ingest_check_shows_how_a_file_would_be_read_and_writes_nothing(run, db_path, tmp_path, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")
    export = write(tmp_path, "cdr_x", (FILES / "cucm" / "cdr_StandAloneCluster_01_202609010100_1").read_text())
    result = run("ingest", "calls", "--check", str(export))
    assert result.exit_code == 0, result.output
    assert (
        "cucm-cdr, utf-8, clock UTC (UTC epoch seconds, as CUCM writes them): 7 rows read, 6 kept, 1 rejected"
        in result.output
    )
    assert "2026-09-01 10:00:00" in result.output and "staff device" in result.output  # site time, classes
    assert "line 9 would be rejected: cdrRecordType 2 is not a call record" in result.output
    assert "the requester keys shown are a throwaway secret's" in result.output
    assert result.output.rstrip().endswith("check only: nothing was written")
    assert "0312345678" not in result.output  # pseudonyms only
    assert not list(tmp_path.glob("test.duckdb*"))  # neither the database nor its secret was created
    assert run("ingest", "calls", "--check", "--force", str(export)).exit_code == 2


def test_a_missing_secret_file_is_never_replaced_by_a_new_one(run, db_path, tmp_path, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")
    calls = write(tmp_path, "c.csv", cdr18("09012345678", datetime(2026, 9, 1, 10)) + "\n")
    assert run("ingest", "calls", str(calls)).exit_code == 0  # the first ingest creates <db>.secret
    secret = tmp_path / "test.duckdb.secret"
    secret.unlink()
    later = write(tmp_path, "d.csv", cdr18("09012345679", datetime(2026, 9, 2, 10)) + "\n")
    result = run("ingest", "calls", str(later))
    assert result.exit_code == 1 and f"no pseudonym secret at {secret}" in result.output
    assert not secret.exists()  # no new, wrong secret was made before refusing


def test_every_command_refuses_a_secret_that_is_not_the_databases(run, tmp_path, monkeypatch):
    calls = write(tmp_path, "c.csv", cdr18("09012345678", datetime(2026, 9, 1, 10)) + "\n")
    assert run("ingest", "calls", str(calls)).exit_code == 0
    monkeypatch.setenv("KASUHARA_SECRET", "another-secret-0123456789abcdef")
    for args in (["judge"], ["query", "SELECT count(*) FROM calls"], ["flags"], ["status"]):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "the pseudonym secret in KASUHARA_SECRET is not the one" in result.output
    # An analyst with no secret at all reads the pseudonyms.
    monkeypatch.delenv("KASUHARA_SECRET")
    assert run("query", "SELECT count(*) FROM calls").exit_code == 0


def test_a_failed_first_ingest_leaves_no_database_or_secret_behind(tmp_path, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")  # the secret file beside the database, made on first use
    folder = tmp_path / "ward"
    folder.mkdir()
    db_path = str(folder / "ward.duckdb")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--db", db_path, *args], catch_exceptions=False)

    bad = write(tmp_path, "bad.csv", "garbage,line\n")
    for files in ([str(tmp_path / "missing.csv")], [str(bad)], [str(bad), str(tmp_path / "missing.csv")]):
        assert invoke("ingest", "calls", *files).exit_code == 1
        assert sorted(p.name for p in folder.iterdir()) == []
    # Once a file is stored, a later failure keeps the database, its secret and its vault.
    assert invoke("ingest", "departments", str(SAMPLES / "departments.csv")).exit_code == 0
    before = sorted(p.name for p in folder.iterdir())
    assert "ward.duckdb" in before and "ward.duckdb.secret" in before
    assert invoke("ingest", "calls", str(bad)).exit_code == 1
    assert sorted(p.name for p in folder.iterdir()) == before
    assert invoke("query", "SELECT count(*) AS n FROM departments", "--format", "json").output.count('"n": 15') == 1
