"""ingest/sources/mapped.py: other phone systems through a mapping file; errors name file, key and line."""

from __future__ import annotations

import pytest

from kasuhara_metrics.common.errors import InputFileError, MappingError
from kasuhara_metrics.ingest import IngestOptions, ingest_files
from kasuhara_metrics.ingest.sources.mapped import load_mapping

from .conftest import SAMPLES, ingest, rows, write

MAPPING = """
name = "test-pbx"
time_formats = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"]
duration_format = "{duration}"

[columns]
caller = "発信者番号"
dialled = "着信番号"
start = "着信日時"
talk = "通話時間"
status = "ステータス"

[status]
answered = ["応答", "ANSWERD"]
no_answer = ["不応答"]
busy = ["話中"]
"""


def mapping(tmp_path, duration="hms", text=MAPPING):
    return load_mapping(write(tmp_path, "map.toml", text.format(duration=duration)))


def test_a_cp932_japanese_export_is_read_through_a_mapping(db, tmp_path):
    export = (
        "発信者番号,着信番号,着信日時,通話時間,ステータス\r\n"
        "090-1234-5678,201,2026/9/1 9:03:15,0:45:10,応答\r\n"
        "非通知,201,2026/09/01 10:00:00,0:01:00,応答\r\n"
        "公衆電話,202,2026/09/01 10:05,0:00:00,不応答\r\n"
        "09012345678,202,2026/09/01 11:00:00,0:00:30,話中\r\n"
    ).encode("cp932")
    result = ingest(db, "calls", write(tmp_path, "pbx.csv", export), mapping=mapping(tmp_path)).files[0]
    assert (result.format, result.encoding, result.kept, result.rejected) == ("mapped:test-pbx", "cp932", 4, 0)
    legs = rows(
        db,
        """SELECT caller_class, caller_note, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'),
                              billsec_s, answered, disposition FROM call_legs ORDER BY line""",
    )
    assert legs == [
        ("external", None, "09:03:15", 2710, True, "ANSWERED"),
        ("withheld", "非通知", "10:00:00", 60, True, "ANSWERED"),
        ("withheld", "公衆電話", "10:05:00", 0, False, "NO ANSWER"),
        ("external", None, "11:00:00", 30, False, "BUSY"),
    ]
    # The hyphenated and plain forms of one number are one requester.
    assert rows(db, "SELECT count(DISTINCT caller_key) FROM call_legs WHERE caller_class = 'external'") == [(1,)]


@pytest.mark.parametrize(
    "duration,value,seconds",
    [("seconds", "125", 125), ("ms", "02:05", 125), ("hms", "1:02:05", 3725), ("minutes", "3", 180)],
)
def test_duration_formats(db, tmp_path, duration, value, seconds):
    export = f"発信者番号,着信番号,着信日時,通話時間,ステータス\n0312345678,201,2026/09/01 09:00:00,{value},応答\n"
    ingest(db, "calls", write(tmp_path, "x.csv", export), mapping=mapping(tmp_path, duration))
    assert rows(db, "SELECT billsec_s, duration_s, epoch(ended_at) - epoch(started_at) FROM call_legs") == [
        (seconds, seconds, seconds)
    ]


def test_direction_decides_who_called_whom(db, tmp_path):
    text = """
name = "dir"
[columns]
direction = "発着区分"
extension = "内線"
remote = "相手先番号"
start = "通話開始"
end = "通話終了"
[direction]
inbound = ["外線着信"]
outbound = ["外線発信"]
internal = ["内線通話", "内線転送"]
"""
    export = (
        "発着区分,内線,相手先番号,通話開始,通話終了\n"
        "外線着信,201,09012345678,2026-09-01 09:00:00,2026-09-01 09:10:00\n"
        "外線発信,201,09012345678,2026-09-01 10:00:00,2026-09-01 10:05:00\n"
        "内線転送,201,231,2026-09-01 11:00:00,2026-09-01 11:05:00\n"
        "宇宙通話,201,231,2026-09-01 12:00:00,2026-09-01 12:05:00\n"
    )
    report = ingest_files(
        db,
        "calls",
        [str(write(tmp_path, "d.csv", export))],
        IngestOptions(mapping=load_mapping(write(tmp_path, "d.toml", text))),
    )
    assert report.files[0].rejected == 1
    assert "direction of the form 'xxxx' is not in" in rows(db, "SELECT reason FROM rejects")[0][0]
    assert rows(db, "SELECT direction, requester_key IS NOT NULL, talk_s FROM contacts ORDER BY started_at") == [
        ("inbound", True, 600),
        ("outbound", False, 300),
        ("internal", False, 300),
    ]
    # The outbound call's dialled number is a resident's: stored as a pseudonym, not as digits.
    assert rows(db, "SELECT dialled_class, dialled LIKE 'R%' FROM call_legs WHERE direction_hint = 'outbound'") == [
        ("number", True)
    ]


def test_a_missing_header_names_the_column_the_mapping_and_the_file(db, tmp_path):
    export = write(
        tmp_path, "pbx.csv", "発信者番号,着信番号,日時,通話時間,ステータス\n0312345678,201,2026/09/01 09:00:00,1,応答\n"
    )
    report = ingest_files(db, "calls", [str(export)], IngestOptions(mapping=mapping(tmp_path)))
    message = str(report.failures[0])
    assert "column 着信日時" in message and "map.toml" in message and "pbx.csv:1" in message


def test_unknown_status_values_are_rejected_rows(db, tmp_path):
    export = write(
        tmp_path,
        "s.csv",
        "発信者番号,着信番号,着信日時,通話時間,ステータス\n0312345678,201,2026/09/01 09:00:00,0:01:00,保留\n",
    )
    result = ingest(db, "calls", export, mapping=mapping(tmp_path)).files[0]
    assert result.rejected == 1
    assert "unknown disposition 'xx'" in rows(db, "SELECT reason FROM rejects")[0][0]


@pytest.mark.parametrize(
    "text,message,line",
    [
        ("name = 1\n[columns]\nstart='a'\ncaller='b'\nend='c'\n", "name must be a string", 1),
        ("[columns]\nstart='a'\ncaller='b'\nend='c'\nstrat='d'\n", "unknown key 'columns.strat'", 5),
        ("[columns]\ncaller='b'\nend='c'\n", "columns.start is required", 1),
        ("[columns]\nstart='a'\nend='c'\n", "name the caller", 1),
        ("[columns]\nstart='a'\ncaller='b'\n", "at least one of columns.end", 1),
        ("duration_format = 'hours'\n[columns]\nstart='a'\ncaller='b'\nend='c'\n", "duration_format must be one of", 1),
        ("[columns]\nstart='a'\ncaller='b'\nend='c'\nstatus='d'\n", "add a [status] table", 5),
        ("[columns]\nstart='a'\ncaller='b'\nend='c'\n[status]\nanswerd=['x']\n", "unknown key 'status.answerd'", 6),
        ("[columns\nstart='a'\n", "invalid TOML", 1),
        ("encoding = 'klingon'\n[columns]\nstart='a'\ncaller='b'\nend='c'\n", "unknown encoding", 1),
    ],
)
def test_mapping_errors_name_the_key_and_line(tmp_path, text, message, line):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    assert message in str(error.value)
    assert error.value.source.line == line
    assert f"bad.toml:{line}" in str(error.value)


def test_the_documented_example_mapping_reads_the_sample(db):
    report = ingest(
        db, "calls", SAMPLES / "pbx" / "calls-cp932.csv", mapping=load_mapping(SAMPLES / "mapping-example.toml")
    )
    result = report.files[0]
    assert result.encoding == "cp932" and result.kept > 50
    assert result.rows_read == result.kept + result.rejected + result.duplicates
    # 非通知, 公衆電話 and 表示圏外 are there and never form a requester.
    notes = {r[0] for r in rows(db, "SELECT DISTINCT caller_note FROM call_legs WHERE caller_class = 'withheld'")}
    assert {"非通知", "公衆電話", "表示圏外"} <= notes
    assert rows(db, "SELECT count(*) FROM contacts WHERE caller_class = 'withheld' AND requester_key IS NOT NULL") == [
        (0,)
    ]


def test_a_mapping_file_that_does_not_exist(tmp_path):
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "nope.toml")


def test_an_export_without_a_header_row_is_refused_when_empty(db, tmp_path):
    report = ingest_files(
        db, "calls", [str(write(tmp_path, "e.csv", "\n\n"))], IngestOptions(mapping=mapping(tmp_path))
    )
    assert isinstance(report.failures[0], InputFileError)
    assert "empty" in str(report.failures[0])


def test_an_exports_own_call_numbers_group_legs_only_within_their_file(db, tmp_path):
    text = """
name = "numbered"
[columns]
call_id = "No"
caller = "発信者番号"
dialled = "着信番号"
start = "開始"
end = "終了"
"""
    mapping_file = load_mapping(write(tmp_path, "n.toml", text))
    header = "No,発信者番号,着信番号,開始,終了\n"
    september = write(
        tmp_path,
        "sep.csv",
        header + "1,090-1111-2222,201,2026-09-01 09:00:00,2026-09-01 09:05:00\n"
        "1,090-1111-2222,231,2026-09-01 09:05:00,2026-09-01 09:09:00\n",
    )
    october = write(
        tmp_path,
        "oct.csv",
        header + "1,080-5555-6666,201,2026-10-01 09:00:00,2026-10-01 09:05:00\n"
        "2,非通知,201,2026-10-01 10:00:00,2026-10-01 10:05:00\n",
    )
    ingest(db, "calls", september, october, mapping=mapping_file)
    assert rows(db, "SELECT legs, caller_class, requester_key IS NOT NULL FROM contacts ORDER BY started_at") == [
        (2, "external", True),  # the two legs of September's call 1
        (1, "external", True),  # October's call 1: another person
        (1, "withheld", False),
    ]


POSITIONAL = """
name = "headerless"
header = false
skip_rows = 2
time_formats = ["%Y/%m/%d %H:%M:%S"]
[columns]
start = 1
caller = 3
dialled = 4
end = 2
talk = 5
"""


def test_a_file_without_header_is_mapped_by_column_number_below_skipped_lines(db, tmp_path):
    mapping = load_mapping(write(tmp_path, "map.toml", POSITIONAL))
    export = (
        "通話履歴 2026年9月\n出力日時 2026/10/01\n"
        "2026/09/01 10:00:00,2026/09/01 10:05:00,09012345678,201,240\n"
        "2026/09/01 11:00:00,2026/09/01 11:00:20,09012345678,201,90\n"
    )
    result = ingest(db, "calls", write(tmp_path, "x.csv", export), mapping=mapping).files[0]
    assert (result.rows_read, result.kept, result.rejected) == (2, 2, 0)
    assert "2 lines above the rows skipped" in result.summary()
    legs = rows(
        db,
        """SELECT line, billsec_s, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'),
                              strftime(answered_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S')
           FROM call_legs ORDER BY line""",
    )
    # Talk longer than the call itself (20 s): it cannot have been answered before the call began.
    assert legs == [(3, 240, "10:00:00", "10:01:00"), (4, 90, "11:00:00", "11:00:00")]


@pytest.mark.parametrize(
    "text,message",
    [
        (POSITIONAL.replace("start = 1", 'start = "日時"'), "columns.start must be a column number"),
        (POSITIONAL.replace("start = 1", "start = 0"), "columns.start must be a column number from 1"),
        (POSITIONAL.replace("skip_rows = 2", "skip_rows = -1"), "skip_rows must be a number of lines"),
        (POSITIONAL.replace("header = false", 'header = "no"'), "header must be true"),
    ],
)
def test_positional_mapping_mistakes_fail_on_load(tmp_path, text, message):
    with pytest.raises(MappingError, match=message):
        load_mapping(write(tmp_path, "map.toml", text))


def test_a_column_number_beyond_the_file_is_named(db, tmp_path):
    mapping = load_mapping(write(tmp_path, "map.toml", POSITIONAL.replace("talk = 5", "talk = 9")))
    report = ingest_files(
        db,
        "calls",
        [str(write(tmp_path, "x.csv", "a\nb\n2026/09/01 10:00:00,2026/09/01 10:05:00,1,2,3\n"))],
        IngestOptions(mapping=mapping),
    )
    assert "names column 9, but" in str(report.failures[0])
