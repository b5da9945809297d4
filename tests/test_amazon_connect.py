"""ingest/sources/amazon_connect.py: contact trace records as JSON lines or back to back; later records win."""

from __future__ import annotations

from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import FILES, ingest, rows, write

CTR = FILES / "amazon_connect" / "ctr.jsonl"


def contacts(db):
    return rows(
        db,
        """SELECT contact_id, direction, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'), talk_s,
                              outcome, legs FROM contacts ORDER BY started_at, contact_id""",
    )


def test_contact_records_are_recognised_with_their_duplicates_and_chats(db):
    result = ingest(db, "calls", CTR).files[0]
    # 13 records: one ContactId three times with only LastUpdateTimestamp changed (2 duplicates), one chat.
    assert (result.format, result.rows_read, result.kept, result.duplicates, result.rejected) == (
        "amazon-connect-ctr",
        13,
        10,
        2,
        1,
    )
    assert rows(db, "SELECT line, reason FROM rejects") == [(13, "a chat contact, not a call")]
    got = contacts(db)
    # Z times are UTC: 01:00Z is 10:00 in Tokyo. Talk is the agent's interaction.
    assert got[0][2:] == ("10:00:00", 240, "answered", 1)
    # The same contact delivered again with changes: the later record wins.
    assert got[1][2:] == ("11:00:00", 600, "answered", 1)
    # The contact flow alone, four times: machine. A queued callback is the ward calling out.
    assert [g[4] for g in got[2:6]] == ["machine"] * 4
    assert got[6][1:] == ("outbound", "13:00:00", 100, "answered", 1)
    # A transfer is a new ContactId with the same InitialContactId: one contact of two legs.
    assert got[7][1:] == ("inbound", "14:00:00", 500, "answered", 2)


def test_firehose_objects_back_to_back_are_each_a_record(db):
    result = ingest(db, "calls", FILES / "amazon_connect" / "firehose-2026-09-02").files[0]
    assert (result.rows_read, result.kept) == (3, 3)


def test_a_damaged_record_is_rejected_and_the_rest_read(db, tmp_path):
    lines = CTR.read_text().splitlines()
    damaged = "\n".join([lines[0], lines[3][:80], lines[4]]) + "\n"
    result = ingest(db, "calls", write(tmp_path, "ctr.json", damaged)).files[0]
    assert (result.rows_read, result.kept, result.rejected) == (3, 2, 1)
    line, reason = rows(db, "SELECT line, reason FROM rejects")[0]
    assert line == 2 and reason.startswith("not valid JSON")
    assert db.vault().rows("SELECT line, raw_text FROM reject_lines") == [(2, lines[3][:80])]


def test_no_flag_from_contact_flow_calls_or_callbacks(db):
    ingest(db, "calls", CTR)
    judge(db, load_profile())
    assert rows(db, "SELECT count(*) FROM flags") == [(0,)]
