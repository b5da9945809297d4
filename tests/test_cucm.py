"""ingest/sources/cucm.py: CUCM CDR flat files, with and without header and type lines, UTC epochs."""

from __future__ import annotations

from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import FILES, ingest, rows

FILE = FILES / "cucm" / "cdr_StandAloneCluster_01_202609010100_1"


def legs(db):
    return rows(
        db,
        """SELECT caller_class, caller_note, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'),
                              strftime(answered_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'), billsec_s, outcome, call_ref
                       FROM call_legs ORDER BY file_id, line""",
    )


def test_a_cdr_file_with_header_and_type_lines_is_read_by_column_name(db):
    result = ingest(db, "calls", FILE).files[0]
    # Seven records (the two header lines are not rows); the CMR among them is no call.
    assert (result.format, result.rows_read, result.kept, result.rejected) == ("cucm-cdr", 7, 6, 1)
    assert result.clock == "UTC (UTC epoch seconds, as CUCM writes them)"
    assert rows(db, "SELECT line, reason FROM rejects") == [
        (9, "cdrRecordType 2 is not a call record (1): quality records (CMR, 2) belong in the cmr_ files")
    ]
    got = legs(db)
    # UTC epochs, shown in Tokyo time; dateTimeConnect 0 is a call that never connected.
    assert got[0] == ("external", None, "10:00:00", "10:00:08", 420, "answered", "cucm-1-501")
    assert got[1][3:6] == (None, 0, "no_answer") and got[2][5] == "busy"
    # A transfer: two records of one global call id, one contact.
    assert got[3][6] == got[4][6] == "cucm-1-504"
    assert rows(db, "SELECT legs, talk_s FROM contacts WHERE contact_id = 'call:cucm-1-504'") == [(2, 300)]
    # A Cisco phone (SEP...) whose number looks like a DID: staff.
    assert got[5][:2] == ("internal", "staff device")


def test_a_file_without_header_in_the_documented_order_whose_last_line_has_no_end(db):
    result = ingest(db, "calls", FILES / "cucm" / "cdr_noheader_01_202609010300_2").files[0]
    assert (result.rows_read, result.kept, result.rejected) == (2, 2, 0)
    assert [g[2:6] for g in legs(db)] == [
        ("12:00:00", "12:00:04", 90, "answered"),
        ("13:00:00", "13:00:04", 30, "answered"),
    ]


def test_no_flag_from_these_records(db):
    ingest(db, "calls", FILE)
    judge(db, load_profile())
    assert rows(db, "SELECT count(*) FROM flags") == [(0,)]
