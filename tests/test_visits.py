"""ingest/sources/visits.py: the canonical visits CSV, its kinds, times, encodings and requester linking."""

from __future__ import annotations

import codecs

import pytest

from kasuhara_metrics.common.site import SiteSettings
from kasuhara_metrics.ingest import IngestOptions, ingest_files

from .conftest import ingest, rows, scalar, write

HEADER = "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary\n"


def visits_file(tmp_path, body: str, *, name="v.csv", encoding="utf-8", bom=False):
    data = (HEADER + body).encode(encoding)
    return write(tmp_path, name, (codecs.BOM_UTF8 if bom else b"") + data)


@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("cp932", False)])
def test_visits_are_read_in_any_supported_encoding(db, tmp_path, encoding, bom):
    path = visits_file(
        tmp_path,
        "V1,2026-09-01 09:30,2026/09/01 10:45:30,区民課,苦情,住民票,090-1234-5678,,2026-09-01 10:30,説明した\n",
        encoding=encoding,
        bom=bom,
    )
    result = ingest(db, "visits", path, site=SiteSettings(topics=("住民票",))).files[0]
    assert (result.kept, result.rejected) == (1, 0)
    ingest(db, "departments", write(tmp_path, "d.csv", "201,区民課\n"))  # the names that codes resolve to
    got = rows(
        db,
        """SELECT visit_id, department, kind, kind_label, topic, duration_s,
                             strftime(exit_requested_at AT TIME ZONE 'Asia/Tokyo', '%H:%M') FROM visits""",
    )
    assert got == [("V1", "区民課", "complaint", "苦情", "住民票", 4530, "10:30")]


@pytest.mark.parametrize(
    "label,kind",
    [
        ("苦情", "complaint"),
        ("要望", "demand"),
        ("問合せ", "inquiry"),
        ("問い合わせ", "inquiry"),
        ("手続", "procedure"),
        ("手続き", "procedure"),
        ("相談", "consultation"),
        ("その他", "other"),
        ("Complaint", "complaint"),
        ("inquiry", "inquiry"),
        ("", "unknown"),
    ],
)
def test_kinds_in_japanese_and_english(db, tmp_path, label, kind):
    ingest(db, "visits", visits_file(tmp_path, f"V1,2026-09-01 09:30,,区民課,{label},,,R-1,,\n"))
    assert scalar(db, "SELECT kind FROM visits") == kind


def test_bad_rows_are_rejected_with_reasons(db, tmp_path):
    body = (
        "V1,2026-09-01 09:30,2026-09-01 09:00,区民課,苦情,,,,,\n"
        "V2,2026-09-01 9:30,,区民課,陳情,,,,,\n"
        ",2026-09-01 09:30,,区民課,苦情,,,,,\n"
        "V4,,,区民課,苦情,,,,,\n"
        "V5,yesterday,,区民課,苦情,,,,,\n"
        "V6,2026-09-01 09:30,,区民課\n"
    )
    report = ingest_files(db, "visits", [str(visits_file(tmp_path, body))], IngestOptions())
    assert report.files[0].rejected == 6
    reasons = [r[0] for r in rows(db, "SELECT reason FROM rejects ORDER BY line")]
    assert reasons[0] == "ended_at is before arrived_at"
    assert reasons[1].startswith("kind 'xx' is not one of 苦情")
    assert reasons[2] == "no visit_id"
    assert reasons[3] == "no arrived_at time"
    assert reasons[4].startswith("arrived_at 'xxxxxxxxx' is not a date")
    assert reasons[5] == "has 4 fields; the header has 10"


def test_a_missing_required_column_names_the_file_and_the_header(db, tmp_path):
    path = write(tmp_path, "v.csv", "id,arrived_at\nV1,2026-09-01 09:30\n")
    report = ingest_files(db, "visits", [str(path)], IngestOptions())
    assert "no visit_id column" in str(report.failures[0]) and "v.csv:1" in str(report.failures[0])


def test_resent_visits_are_duplicates_and_changed_ones_conflict(db, tmp_path):
    first = visits_file(
        tmp_path, "V1,2026-09-01 09:30,,区民課,苦情,,,R-1,,\nV2,2026-09-02 09:30,,区民課,苦情,,,R-1,,\n", name="a.csv"
    )
    second = visits_file(
        tmp_path,
        "V1,2026-09-01 09:30,,区民課,苦情,,,R-1,,\nV2,2026-09-02 09:30,2026-09-02 10:00,区民課,苦情,,,R-1,,\n"
        "V3,2026-09-03 09:30,,区民課,苦情,,,R-1,,\nV3,2026-09-03 09:30,,区民課,苦情,,,R-1,,\n"
        "V4,2026-09-03 09:30,,区民課,苦情,,,R-1,,\nV4,2026-09-04 09:30,,区民課,苦情,,,R-1,,\n",
        name="b.csv",
    )
    ingest_files(db, "visits", [str(first)], IngestOptions())
    b = ingest_files(db, "visits", [str(second)], IngestOptions()).files[0]
    assert (b.rows_read, b.kept, b.duplicates, b.rejected) == (6, 2, 2, 2)
    reasons = [r[0] for r in rows(db, "SELECT reason FROM rejects ORDER BY line")]
    assert "already ingested with different content" in reasons[0]
    assert "appears earlier (in this file, line 6)" in reasons[1]


def test_phone_and_requester_ref_on_one_visit_link_the_person(db, tmp_path):
    body = (
        "V1,2026-09-01 09:30,,区民課,苦情,,+81 90 1234 5678,,,\n"  # phone only (E.164 form)
        "V2,2026-09-02 09:30,,区民課,苦情,,,R-77,,\n"  # reference only
        "V3,2026-09-03 09:30,,区民課,苦情,,090-1234-5678,R-77,,\n"  # both: the same person
        "V4,2026-09-04 09:30,,区民課,苦情,,非通知,,,\n"  # nobody
        "V5,2026-09-05 09:30,,区民課,苦情,,,,,\n"  # nobody
    )
    ingest(db, "visits", visits_file(tmp_path, body))
    keys = dict(rows(db, "SELECT visit_id, requester_key FROM visits"))
    assert keys["V1"] == keys["V2"] == keys["V3"] is not None
    assert keys["V4"] is None and keys["V5"] is None
    assert rows(db, "SELECT caller_class FROM contacts WHERE source_ids = ['V4']") == [("withheld",)]


def test_a_visitor_and_a_caller_with_one_number_are_one_requester(db, tmp_path):
    from datetime import datetime

    from .helpers import cdr18

    calls = write(tmp_path, "c.csv", cdr18("09012345678", datetime(2026, 9, 1, 9)) + "\n")
    ingest(db, "calls", calls)
    ingest(db, "visits", visits_file(tmp_path, "V1,2026-09-02 09:30,,区民課,苦情,,090-1234-5678,,,\n"))
    assert rows(db, "SELECT calls, visits FROM requesters") == [(1, 1)]


def test_summaries_and_free_text_are_kept_apart_in_the_vault(db, tmp_path):
    ingest(
        db,
        "visits",
        visits_file(
            tmp_path,
            "V1,2026-09-01 09:30,,区民課,苦情,住民税 山田太郎 090-5123-4567,090-1234-5678,,,山田様 住所変更の件\n",
        ),
    )
    assert db.vault().rows("SELECT summary FROM visit_summaries") == [("山田様 住所変更の件",)]
    for view in ("visits", "contacts", "requesters"):
        text = str(rows(db, f"SELECT * FROM {view}"))
        assert "山田" not in text and "5678" not in text and "4567" not in text
    # A topic that is no known topic is a code; the vault keeps what it stands for.
    code = scalar(db, "SELECT topic FROM visits")
    assert code.startswith("T-") and db.vault().rows("SELECT raw FROM raw_values WHERE code = ?", [code]) == [
        ("住民税 山田太郎 090-5123-4567",)
    ]
    # A department of the departments list shows by name.
    assert scalar(db, "SELECT department FROM visits").startswith("D-")
    ingest(db, "departments", write(tmp_path, "d.csv", "201,区民課\n"))
    assert scalar(db, "SELECT department FROM visits") == "区民課"


def test_unknown_extra_columns_are_noted(db, tmp_path):
    path = write(tmp_path, "v.csv", "visit_id,arrived_at,staff\nV1,2026-09-01 09:30,佐藤\n")
    result = ingest(db, "visits", path).files[0]
    assert result.kept == 1 and "ignored unknown columns: staff" in result.notes


def test_placeholder_references_and_the_wards_own_numbers_link_nobody(db, tmp_path):
    ingest(db, "departments", write(tmp_path, "d.csv", "03-5555-0100,代表\n"))
    body = (
        "V1,2026-09-01 09:30,,区民課,苦情,,090-1111-2222,-,,\n"
        "V2,2026-09-02 09:30,,区民課,苦情,,080-3333-4444,-,,\n"
        "V3,2026-09-03 09:30,,区民課,苦情,,,不明,,\n"
        "V4,2026-09-04 09:30,,区民課,苦情,,03-5555-0100,R-1,,\n"
        "V5,2026-09-05 09:30,,区民課,苦情,,03-5555-0100,R-2,,\n"
    )
    ingest(db, "visits", visits_file(tmp_path, body))
    keys = dict(rows(db, "SELECT visit_id, requester_key FROM visits"))
    assert keys["V1"] != keys["V2"] and None not in (keys["V1"], keys["V2"])
    assert keys["V3"] is None
    assert keys["V4"] != keys["V5"]  # not one person through the switchboard's number
    assert rows(db, "SELECT count(*) FROM requester_links") == [(0,)]


def test_a_changed_visit_in_a_later_file_of_the_same_run_is_a_conflict(db, tmp_path):
    first = visits_file(tmp_path, "V1,2026-09-01 09:30,,区民課,苦情,,,R-1,,\n", name="a.csv")
    second = visits_file(tmp_path, "V1,2026-09-01 09:30,2026-09-01 10:00,区民課,苦情,,,R-1,,\n", name="b.csv")
    report = ingest_files(db, "visits", [str(first), str(second)], IngestOptions())
    assert [(f.kept, f.rejected) for f in report.files] == [(1, 0), (0, 1)]
    assert (
        "appears earlier (in " in rows(db, "SELECT reason FROM rejects")[0][0]
        and "a.csv, line 2" in rows(db, "SELECT reason FROM rejects")[0][0]
    )
