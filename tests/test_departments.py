"""ingest/sources/departments.py: dialled numbers to departments, and the ward's own numbers as staff."""

from __future__ import annotations

from datetime import datetime

from kasuhara_metrics.ingest import IngestOptions, ingest_files

from .conftest import ingest, rows, write
from .helpers import cdr18


def test_departments_with_and_without_header(db, tmp_path):
    ingest(db, "departments", write(tmp_path, "a.csv", "number,department\n201,区民課\n03-5555-0101,区民課\n"))
    ingest(db, "departments", write(tmp_path, "b.csv", "231,税務課\n"))
    # A full number only as its pseudonym: no number in clear in the database.
    assert rows(
        db, "SELECT number LIKE 'R%', department, number_key IS NOT NULL FROM departments ORDER BY department, number"
    ) == [(False, "区民課", False), (True, "区民課", True), (False, "税務課", False)]
    assert "355550101" not in str(rows(db, "SELECT * FROM departments"))


def test_a_later_file_updates_a_mapping_and_bad_rows_are_rejected(db, tmp_path):
    ingest(db, "departments", write(tmp_path, "a.csv", "201,区民課\n"))
    report = ingest_files(
        db,
        "departments",
        [str(write(tmp_path, "b.csv", "201,戸籍住民課\n201,戸籍住民課\nabc,税務課\n202,\n203,福祉課\n203,税務課\n"))],
        IngestOptions(),
    )
    result = report.files[0]
    assert (result.rows_read, result.kept, result.duplicates, result.rejected) == (6, 2, 1, 3)
    assert rows(db, "SELECT number, department FROM departments ORDER BY number") == [
        ("201", "戸籍住民課"),
        ("203", "福祉課"),
    ]


def test_calls_get_the_department_of_the_number_they_dialled(db, tmp_path):
    t = datetime(2026, 9, 1, 10)
    lines = [
        cdr18("09012345678", t, dst="0355550101"),
        cdr18("09012345679", t, dst="231"),
        cdr18("09012345670", t, dst="999"),
    ]
    ingest(db, "calls", write(tmp_path, "c.csv", "\n".join(lines) + "\n"))
    # The mapping may arrive after the calls: contacts are rebuilt.
    ingest(db, "departments", write(tmp_path, "d.csv", "03-5555-0101,区民課\n231,税務課\n"))
    assert rows(db, "SELECT department FROM contacts ORDER BY department NULLS LAST") == [
        ("区民課",),
        ("税務課",),
        (None,),
    ]


def test_a_call_from_one_of_the_wards_own_numbers_is_staff(db, tmp_path):
    ingest(db, "departments", write(tmp_path, "d.csv", "03-5555-0101,区民課\n"))
    ingest(db, "calls", write(tmp_path, "c.csv", cdr18("0355550101", datetime(2026, 9, 1, 10)) + "\n"))
    assert rows(db, "SELECT caller_class, requester_key FROM contacts") == [("internal", None)]


def test_a_did_that_is_no_valid_number_maps_calls_that_dialled_it(db, tmp_path):
    # A PBX that writes the last 6 digits of the DID: calls store them keyed, and so do departments.
    ingest(db, "departments", write(tmp_path, "d.csv", "550101,区民課\n"))
    assert rows(db, "SELECT number = number_key, number LIKE 'R%' FROM departments") == [(True, True)]
    ingest(db, "calls", write(tmp_path, "c.csv", cdr18("09012345678", datetime(2026, 9, 1, 10), dst="550101") + "\n"))
    assert rows(db, "SELECT dialled_class, dialled <> '550101' FROM calls") == [("number", True)]
    assert rows(db, "SELECT department FROM contacts") == [("区民課",)]
