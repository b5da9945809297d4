"""ingest/sources/freeswitch.py: mod_cdr_csv without a header, bridged legs, IVR legs, Excel-damaged copies."""

from __future__ import annotations

import shutil

from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import FILES, ingest, rows


def legs(db):
    return rows(
        db,
        """SELECT caller_class, caller_note, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%m-%d %H:%M:%S'),
                              billsec_s, outcome FROM call_legs ORDER BY file_id, line""",
    )


def test_the_example_template_is_recognised_and_read_in_site_time(db, tmp_path):
    path = tmp_path / "export.csv"  # a neutral name: the content tells
    shutil.copy(FILES / "freeswitch" / "Master.csv", path)
    result = ingest(db, "calls", path).files[0]
    assert (result.format, result.rows_read, result.kept, result.rejected) == ("freeswitch-example-15", 11, 11, 0)
    assert result.clock == "Asia/Tokyo (site time zone)"
    got = legs(db)
    assert got[0] == ("external", None, "09-01 09:00:00", 300, "answered")  # bridged: bleg_uuid set
    # The IVR answered four times, never bridged: a machine each time.
    assert [g[4] for g in got[1:5]] == ["machine"] * 4
    assert [g[4] for g in got[5:7]] == ["busy", "no_answer"]  # USER_BUSY, ORIGINATOR_CANCEL
    # anonymous and 0000000000 are no number at all.
    assert [g[:2] for g in got[9:]] == [("withheld", "anonymous"), ("withheld", "zeros")]


def test_a_and_b_legs_of_one_call_are_one_contact(db):
    ingest(db, "calls", FILES / "freeswitch" / "Master.csv")
    contact = rows(
        db, "SELECT legs, outcome, talk_s FROM contacts WHERE contact_id = 'call:5f0c001e-1a2b-4c3d-8e4f-00000000001e'"
    )
    assert contact == [(2, "answered", 180)]


def test_an_excel_resaved_copy_is_read_with_its_lost_seconds(db):
    result = ingest(db, "calls", FILES / "freeswitch" / "Master-excel.csv").files[0]
    # The row written twice is one call; the caller 0 is nobody.
    assert (result.rows_read, result.kept, result.duplicates, result.rejected) == (3, 2, 1, 0)
    assert legs(db) == [
        ("external", None, "09-02 09:05:00", 300, "answered"),
        ("withheld", "zeros", "09-02 09:20:00", 0, "no_answer"),
    ]


def test_a_caller_who_only_hears_the_menu_is_not_flagged(db):
    ingest(db, "calls", FILES / "freeswitch" / "Master.csv")
    judge(db, load_profile())
    assert rows(db, "SELECT count(*) FROM flags") == [(0,)]
