"""ingest/sources/asterisk.py: every cdr_csv layout and cdr_custom, recognised from content alone."""

from __future__ import annotations

import re
import shutil
from datetime import datetime

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kasuhara_metrics.common.errors import InputFileError
from kasuhara_metrics.common.site import SiteSettings
from kasuhara_metrics.ingest import IngestOptions, ingest_files
from kasuhara_metrics.ingest.sources.asterisk import Asterisk, detect_layout
from kasuhara_metrics.ingest.stores.calls import staff_phone_sql

from .conftest import FILES, ingest, rows, scalar, write
from .helpers import cdr18

LAYOUT_FILES = {
    "cdr_csv-16.csv": "cdr_csv-16",
    "cdr_csv-17u.csv": "cdr_csv-17u",
    "cdr_csv-17f.csv": "cdr_csv-17f",
    "cdr_csv-18.csv": "cdr_csv-18",
    "cdr_csv-19.csv": "cdr_csv-19",
    "cdr_csv-20u.csv": "cdr_csv-20u",
    "cdr_csv-20f.csv": "cdr_csv-20f",
    "cdr_csv-21.csv": "cdr_csv-21",
    "cdr_custom-18.csv": "cdr_custom-18",
    "cdr_custom-19.csv": "cdr_custom-19",
}


@pytest.mark.parametrize("name,layout", LAYOUT_FILES.items())
def test_each_layout_is_recognised_and_ingested(db, tmp_path, name, layout):
    # A neutral file name: the layout must come from the content.
    path = tmp_path / "export.csv"
    shutil.copy(FILES / "asterisk" / name, path)
    staged = Asterisk().read(str(path), path.read_bytes(), IngestOptions())
    assert staged.format == f"asterisk-{layout}"
    report = ingest(db, "calls", path)
    result = report.files[0]
    assert result.rejected == 0 and result.duplicates == 0
    assert result.kept == result.rows_read == staged.rows_read
    # Start times are read in the site zone and stored as instants.
    first = rows(
        db,
        "SELECT strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%Y-%m-%d %H:%M:%S') "
        "FROM call_legs ORDER BY line LIMIT 1",
    )
    assert first[0][0].startswith(("2026-09-01 10:01:00", "2023-07-26 01:52:11"))


def test_uniqueid_and_linkedid_are_kept_when_the_layout_has_them(db):
    ingest(db, "calls", FILES / "asterisk" / "cdr_csv-21.csv")
    assert rows(db, "SELECT uniqueid, linkedid, leg_sequence FROM call_legs ORDER BY line") == [
        ("1788000001.1", "1788000001.1", 1),
        ("1788000002.2", "1788000002.2", 2),
    ]


def test_unanswered_rows_have_no_answer_time(db):
    ingest(db, "calls", FILES / "asterisk" / "cdr_csv-16.csv")
    assert rows(db, "SELECT disposition, answered_at IS NULL, answered, billsec_s FROM call_legs ORDER BY line") == [
        ("ANSWERED", False, True, 40),
        ("NO ANSWER", True, False, 0),
        ("ANSWERED", False, True, 40),
    ]


def test_forked_legs_sharing_a_uniqueid_are_all_kept_and_make_one_contact(db):
    report = ingest(db, "calls", FILES / "asterisk" / "forked-21.csv")
    assert report.files[0].kept == 3 and report.files[0].duplicates == 0
    contact = rows(db, "SELECT legs, talk_s, answered, department IS NULL, source_ids FROM contacts")
    assert contact == [(3, 180, True, True, ["1788760800.12"])]


def test_a_non_utf8_byte_keeps_the_row_and_is_noted(db):
    report = ingest(db, "calls", FILES / "asterisk" / "stray-byte-18.csv")
    result = report.files[0]
    assert result.kept == 3 and result.rejected == 0
    assert "line 1" in "; ".join(result.notes)
    assert scalar(db, "SELECT notes FROM ingest_log").startswith("undecodable bytes replaced")


def test_layout_detection_ignores_the_file_name(tmp_path):
    path = write(tmp_path, "Master.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(InputFileError) as error:
        Asterisk().read(str(path), path.read_bytes(), IngestOptions())
    message = str(error.value)
    assert "does not look like an Asterisk CDR file" in message and "--mapping" in message
    assert "Master.csv:1" in message


def test_17_columns_are_told_apart_by_the_uniqueid_pattern():
    uniqueid = [
        (
            1,
            [
                "",
                "1",
                "2",
                "c",
                "",
                "",
                "",
                "",
                "",
                "2026-09-01 10:00:00",
                "",
                "2026-09-01 10:00:10",
                "10",
                "0",
                "NO ANSWER",
                "DOCUMENTATION",
                "1788000001.5",
            ],
        )
    ]
    userfield = [(1, uniqueid[0][1][:16] + ["VIP"])]
    assert detect_layout("f", uniqueid).name == "cdr_csv-17u"
    assert detect_layout("f", userfield).name == "cdr_csv-17f"


def test_a_file_whose_layout_changes_midway_keeps_both_kinds_of_row(db, tmp_path):
    t = datetime(2026, 9, 1, 10, 0, 0)
    eighteen = [cdr18("09012345678", t.replace(minute=m)) for m in range(3)]
    sixteen = ",".join(cdr18("09012345679", t.replace(hour=11)).split(",")[:16])
    path = write(tmp_path, "mixed.csv", "\n".join(eighteen + [sixteen]) + "\n")
    result = ingest(db, "calls", path).files[0]
    assert (result.kept, result.rejected) == (4, 0)
    assert scalar(db, "SELECT count(*) FROM call_legs WHERE uniqueid IS NULL") == 1


def test_busy_with_billsec_and_machines_are_not_answered(db, tmp_path):
    t = datetime(2026, 9, 1, 10, 0, 0)
    lines = [
        cdr18("09012345678", t, disposition="BUSY", talk=27),
        cdr18("09012345678", t.replace(minute=5), lastapp="Playback", dstchannel="", talk=12),
        cdr18("09012345678", t.replace(minute=10), lastapp="VoiceMail", talk=30),
        cdr18("09012345678", t.replace(minute=15), talk=0),
        cdr18("09012345678", t.replace(minute=20), talk=30),
    ]
    ingest(db, "calls", write(tmp_path, "m.csv", "\n".join(lines) + "\n"))
    assert rows(db, "SELECT disposition, billsec_s, answered FROM call_legs ORDER BY line") == [
        ("BUSY", 27, False),
        ("ANSWERED", 12, False),
        ("ANSWERED", 30, False),
        ("ANSWERED", 0, False),
        ("ANSWERED", 30, True),
    ]
    assert rows(db, "SELECT outcome FROM contacts ORDER BY started_at") == [
        ("busy",),
        ("machine",),
        ("machine",),
        ("dropped",),
        ("answered",),
    ]


def test_numeric_dispositions_are_understood(db, tmp_path):
    line = cdr18("09012345678", datetime(2026, 9, 1, 10)).replace('"ANSWERED"', "4")
    ingest(db, "calls", write(tmp_path, "u.csv", line + "\n"))
    assert rows(db, "SELECT disposition, answered FROM call_legs") == [("ANSWERED", True)]


def test_rows_with_bad_values_are_rejected_with_reason_and_raw_text(db, tmp_path):
    t = datetime(2026, 9, 1, 10)
    good = cdr18("09012345678", t)
    lines = [
        good,
        good.replace("2026-09-01 10:00:00", "2026-13-01 10:00:00"),
        cdr18("09012345679", t).replace(",65,60,", ",abc,60,"),
        cdr18("09012345670", t).replace('"ANSWERED"', '"MAYBE"'),
        '"","0901",',
    ]
    report = ingest_files(db, "calls", [str(write(tmp_path, "bad.csv", "\n".join(lines) + "\n"))], IngestOptions())
    result = report.files[0]
    assert (result.rows_read, result.kept, result.rejected) == (5, 1, 4)
    rejects = rows(db, "SELECT line, reason FROM rejects ORDER BY line")
    assert [r[0] for r in rejects] == [2, 3, 4, 5]
    # A reason shows a value's form only (a shifted column can put a number there); the vault has the line.
    assert "start time '9999-99-99 99:99:99' is not a date" in rejects[0][1]
    assert "duration 'xxx' is not seconds" in rejects[1][1]
    assert "09012345679" not in str(rejects)
    raw = dict(db.vault().rows("SELECT line, raw_text FROM reject_lines"))
    assert raw[2] == lines[1] and raw[5] == lines[4]
    assert "unknown disposition 'xxxxx'" in rejects[2][1]
    assert "has 3 fields" in rejects[3][1]


def test_a_last_line_cut_short_while_being_written_is_rejected_not_read_as_another_layout(db, tmp_path):
    t = datetime(2026, 9, 1, 10)
    full = [cdr18("09012345678", t.replace(minute=m), uniqueid=f"178800000{m}.1") for m in range(3)]
    partial = "\n".join(full[:2]) + "\n" + ",".join(full[2].split(",")[:16])  # no line end
    result = ingest(db, "calls", write(tmp_path, "partial.csv", partial)).files[0]
    assert (result.kept, result.rejected) == (2, 1)
    assert "cut short while being written" in rows(db, "SELECT reason FROM rejects")[0][0]
    # Once complete, the same export adds the missing record exactly once.
    again = ingest(db, "calls", write(tmp_path, "complete.csv", "\n".join(full) + "\n")).files[0]
    assert (again.kept, again.duplicates) == (1, 2)
    assert scalar(db, "SELECT count(*) FROM call_legs") == 3


def test_a_record_with_a_uniqueid_written_twice_in_one_file_is_kept_once(db, tmp_path):
    line = cdr18("09012345678", datetime(2026, 9, 1, 10), uniqueid="1788000000.7")
    result = ingest(db, "calls", write(tmp_path, "twice.csv", f"{line}\n{line}\n")).files[0]
    assert (result.kept, result.duplicates) == (1, 1)


def test_calls_in_a_staff_context_are_staff_whatever_number_they_show(db, tmp_path):
    line = cdr18("0312345678", datetime(2026, 9, 1, 10), dcontext="from-internal", dst="09087654321")
    ingest(db, "calls", write(tmp_path, "staff.csv", line + "\n"))
    assert rows(db, "SELECT caller_class, caller_note, requester_key FROM calls") == [
        ("internal", "internal context", None)
    ]
    assert rows(db, "SELECT direction, requester_key FROM contacts") == [("outbound", None)]


def judged_flags(db) -> list[tuple]:
    from kasuhara_metrics.judge import judge
    from kasuhara_metrics.rules import load_profile

    judge(db, load_profile())
    return rows(db, "SELECT requester_key, rule_id FROM flags ORDER BY ALL")


def test_a_softphone_whose_device_name_is_digits_is_staff_not_a_resident(db):
    # SIP/123654987-... with src 123654987 would read as 0123-65-4987; PJSIP/0355550199-... looks like a DID.
    ingest(db, "calls", FILES / "asterisk" / "softphone-18.csv")
    legs = rows(
        db, "SELECT caller_class, caller_note, caller_key IS NULL, count(*) FROM call_legs GROUP BY ALL ORDER BY ALL"
    )
    assert legs == [("external", None, False, 1), ("internal", "staff device", True, 12)]
    assert rows(db, "SELECT count(*) FROM requesters") == [(1,)]
    # Twelve calls in an hour, each a few minutes after the last: from a resident, redials; from staff, nothing.
    assert judged_flags(db) == []


def is_staff_phone(staff_device: str | None, channel: str | None, caller: str | None) -> bool:
    """The reference: a source's own word, else the caller is the device its channel names."""
    if staff_device is not None:
        return staff_device == "1"
    named = re.fullmatch(r"(?:SIP|PJSIP|IAX2)/(.+)-[0-9a-fA-F]+", channel or "")
    return caller is not None and named is not None and named.group(1) == caller.strip(" ")


_DEVICE_TEXT = st.text(alphabet="0123456789abcfgzAF -/\n", max_size=7)


@st.composite
def leg_channels(draw) -> dict:
    device = draw(_DEVICE_TEXT)
    technology = draw(st.sampled_from(["SIP/", "PJSIP/", "IAX2/", "Local/", "sip/", "", "xSIP/"]))
    suffix = draw(st.sampled_from(["-", "", "-x", "-0-", "-00000a3f", "-1F;2"])) + draw(_DEVICE_TEXT)
    caller = draw(st.one_of(st.none(), _DEVICE_TEXT, st.just(device), st.just(f" {device} ")))
    channel = draw(st.one_of(st.none(), st.just(technology + device + suffix)))
    return {"staff_device": draw(st.sampled_from([None, "1", "0", ""])), "channel": channel, "caller": caller}


@given(st.lists(leg_channels(), min_size=1, max_size=40))
def test_a_caller_is_a_staff_phone_exactly_when_its_channel_names_it(legs):
    _stage = pa.Table.from_pylist(legs)  # read by name below
    got = duckdb.sql(f"SELECT {staff_phone_sql(True)} FROM _stage s").fetchall()
    assert [value for (value,) in got] == [is_staff_phone(**leg) for leg in legs]


def test_staff_numbers_listed_by_the_site_are_never_requesters(db, tmp_path):
    lines = [cdr18("090-8765-4321", datetime(2026, 9, 1, 10, 3 * m), talk=120, ring=0) for m in range(8)]
    site = SiteSettings(staff_numbers=("09087654321",))
    ingest(db, "calls", write(tmp_path, "m.csv", "\n".join(lines) + "\n"), site=site)
    assert rows(db, "SELECT DISTINCT caller_class, caller_note FROM call_legs") == [("internal", "staff number")]
    assert judged_flags(db) == []


def test_ivr_menus_are_machine_outcomes_and_never_make_redials(db):
    ingest(db, "calls", FILES / "asterisk" / "ivr-18.csv")
    outcomes = rows(db, "SELECT lastapp, outcome, answered FROM call_legs ORDER BY line")
    assert outcomes[:7] == [
        (app, "machine", False)
        for app in ("WaitExten", "Background", "Wait", "Congestion", "Hangup", "WaitExten", "Hangup")
    ]
    # A queue member picked up: answered. Given up while waiting in the queue: the queue's machine.
    assert outcomes[7:] == [("Queue", "answered", True), ("Queue", "machine", False)]
    contacts = rows(db, "SELECT outcome, talk_s FROM contacts ORDER BY started_at")
    assert [c[0] for c in contacts] == ["machine"] * 7 + ["answered", "machine"]
    assert contacts[7][1] == 330 and all(talk == 0 for outcome, talk in contacts if outcome == "machine")
    # Seven menu calls three minutes apart: a caller who only heard the menu is no redialler.
    assert judged_flags(db) == []


def test_machine_applications_are_a_site_setting(db, tmp_path):
    # A site whose staff answer through an application with no destination channel is not one Asterisk ships.
    line = cdr18("09012345678", datetime(2026, 9, 1, 10), lastapp="Playback", dstchannel="SIP/201-1")
    ingest(db, "calls", write(tmp_path, "a.csv", line + "\n"), site=SiteSettings(machine_apps=("VoiceMail",)))
    assert rows(db, "SELECT outcome FROM call_legs") == [("answered",)]
