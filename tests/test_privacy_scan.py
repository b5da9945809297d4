"""The scan behind docs/security.md: no raw number, name or free text outside the vault (issue 12).

The sample ward, plus exports with names and numbers wherever staff or callers can type them
(caller ID names, summaries, topics, departments, review notes, rejected lines), goes through
every command; then every table and column of the database, the database file's bytes, the Parquet
exports, the weekly report and its workbook are searched for each of those values. The vault is
searched too: it must hold them, or the scan would prove nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.vault import vault_path

from .conftest import CALL_EXPORTS, SAMPLES, fixture_secret
from .helpers import cdr18

NAMES = ["山田花子", "鈴木一郎", "Hanako Yamada"]
NUMBERS = ["09051234567", "0312349876", "08077778888"]
TYPED = (
    "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,summary\n"
    f"VS1,2026-09-16 10:00,2026-09-16 10:30,{NAMES[0]}対応 {NUMBERS[1]},苦情,住民税 {NAMES[1]} {NUMBERS[2]},"
    f"{NUMBERS[0]},,{NAMES[2]} {NUMBERS[0]}\n"
    f"VS2,2026-09-16 11:00,,税務課,不明な区分 {NAMES[0]},住民税,,,\n"
)  # rejected: its line holds a name


def sample_numbers() -> set[str]:
    """Every caller number written in the samples, as the national significant number (no leading 0)."""
    found = set()
    for path in CALL_EXPORTS + [SAMPLES / "pbx" / "calls-cp932.csv"] + sorted((SAMPLES / "visits").glob("*.csv")):
        text = path.read_bytes().decode("utf-8", errors="ignore") + path.read_bytes().decode("cp932", errors="ignore")
        for match in re.findall(r"(?<![\d.])(?:\+81|0)(?:[-\s]?\d){9,10}(?!\d)", text):
            digits = re.sub(r"\D", "", match)
            national = digits[2:] if match.startswith("+81") else digits[1:]
            if national[:1] in "3456789" and not national.startswith("3555501"):  # the ward's own 03-5555-01xx
                found.add(national)
    return found


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan")
    db = str(folder / "ward.duckdb")
    typed = folder / "typed.csv"
    typed.write_text(TYPED, encoding="utf-8")
    named = folder / "named.csv"
    named.write_text(
        "\n".join(
            [
                cdr18(NUMBERS[0], datetime(2026, 9, 16, 10), talk=65 * 60, clid=f'"{NAMES[0]}" <{NUMBERS[0]}>'),
                cdr18("trunk-" + NUMBERS[1], datetime(2026, 9, 16, 11), clid=f'"{NAMES[1]}" <>'),
            ]
        )
        + "\n"
    )
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, ["--db", db, *args], catch_exceptions=False)
        assert result.exit_code in (0, 3), (args, result.output)
        return result.output

    with fixture_secret():
        cli("ingest", "departments", str(SAMPLES / "departments.csv"))
        cli("ingest", "calls", *map(str, CALL_EXPORTS), str(named))
        cli(
            "ingest",
            "calls",
            "--mapping",
            str(SAMPLES / "mapping-example.toml"),
            str(SAMPLES / "pbx" / "calls-cp932.csv"),
        )
        cli("ingest", "visits", *map(str, sorted((SAMPLES / "visits").glob("*.csv"))), str(typed))
        cli("judge")
        flag = cli("flags", "--format", "csv").splitlines()[1].split(",")[0]
        cli("review", flag, "--status", "watching", "--note", f"{NAMES[2]} {NUMBERS[2]}", "--by", "佐藤")
        cli("export", "--out", str(folder / "exports"))
        cli("report", "--week", "2026-W38", "--out", str(folder / "reports"))
        with connect(db) as opened:
            opened.con.execute("CHECKPOINT")
            tables = [
                row[0]
                for row in opened.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
            ]
            database_text = "\n".join(str(opened.con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
            vault_text = "\n".join(
                str(opened.vault().rows(f"SELECT * FROM {t}"))
                for t in ("reject_lines", "visit_summaries", "raw_values", "review_notes")
            )
    places = {
        "database tables": database_text,
        "database file bytes": Path(db).read_bytes().decode("utf-8", errors="ignore"),
        "exports": "\n".join(
            str(__import__("pyarrow.parquet").parquet.read_table(p).to_pylist())
            for p in sorted((folder / "exports").iterdir())
        ),
        "report page": next((folder / "reports").glob("*.html")).read_text(encoding="utf-8"),
        "report workbook": "\n".join(
            str(list(sheet.values)) for sheet in load_workbook(next((folder / "reports").glob("*.xlsx"))).worksheets
        ),
    }
    return places, vault_text, Path(db)


def test_no_number_or_name_anywhere_but_the_vault(ward):
    places, vault_text, _ = ward
    numbers = sample_numbers() | {n[1:] for n in NUMBERS}
    assert len(numbers) > 300  # the scan looks for every resident of the sample ward
    found = {where: sorted(v for v in list(numbers) + NAMES if v in text) for where, text in places.items()}
    assert found == {where: [] for where in places}
    # The vault holds what was kept from everyone else: the scan would see it if it leaked.
    assert all(value in vault_text for value in NAMES + [NUMBERS[0], NUMBERS[2]])
    assert sum(number in vault_text for number in numbers) >= 4  # the samples' rejected lines, as written


def test_the_vault_file_is_the_only_file_that_holds_them(ward):
    _, _, db = ward
    vault = vault_path(str(db)).read_bytes()
    assert NAMES[0].encode() in vault or NAMES[2].encode() in vault
