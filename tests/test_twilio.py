"""ingest/sources/twilio.py: the Console call-log CSV and JSON Call resources; <Dial> legs; pseudo-numbers."""

from __future__ import annotations

from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import FILES, ingest, rows, write

LOG = FILES / "twilio" / "call-log.csv"


def contacts(db):
    return rows(
        db,
        """SELECT caller_class, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%m-%d %H:%M:%S'), talk_s,
                              outcome, legs FROM contacts ORDER BY started_at""",
    )


def test_the_console_csv_is_read_with_rfc_2822_times_and_dial_legs(db):
    result = ingest(db, "calls", LOG).files[0]
    assert (result.format, result.rows_read, result.kept, result.rejected) == ("twilio-csv", 9, 9, 0)
    got = contacts(db)
    # 02:00 GMT is 11:00 in Tokyo; the <Dial> leg is the person who answered: its talk is the contact's.
    assert got[0] == ("external", "09-01 11:00:00", 370, "answered", 2)
    # Calls that TwiML alone answered, while the file has <Dial> legs: machines.
    assert [g[3] for g in got[1:5]] == ["machine"] * 4
    # +266696687 is Twilio's ANONYMOUS; busy and no-answer are as they say.
    assert got[5][0] == "withheld" and [g[3] for g in got[6:]] == ["busy", "no_answer"]


def test_json_call_resources_are_read_too(db):
    result = ingest(db, "calls", FILES / "twilio" / "calls-2026-09-02.json").files[0]
    assert (result.format, result.kept) == ("twilio-json", 2)
    assert contacts(db) == [("external", "09-02 11:00:00", 370, "answered", 2)]


def test_a_log_without_dial_legs_says_what_it_cannot_tell(db, tmp_path):
    lines = LOG.read_text().splitlines()
    result = ingest(db, "calls", write(tmp_path, "log.csv", "\n".join([lines[0], lines[1]]) + "\n")).files[0]
    assert "no <Dial> legs in this file" in result.summary()
    assert contacts(db)[0][3] == "answered"


def test_no_flag_from_menu_calls(db):
    ingest(db, "calls", LOG)
    judge(db, load_profile())
    assert rows(db, "SELECT count(*) FROM flags") == [(0,)]
