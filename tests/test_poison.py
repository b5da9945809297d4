"""No row can poison the database: every value is range-checked at the door (issue 12).

Each of the audit's poison rows is rejected with a reason and never committed; the good rows of
its file are kept; and every later command (ingest, judge, status, query, report) still works. A
property test throws hostile rows at the ingest and checks the accounting and the commands after.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.cli import main
from kasuhara_metrics.common.db import connect
from kasuhara_metrics.ingest import IngestOptions, ingest_files
from kasuhara_metrics.ingest.sources.mapped import load_mapping
from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import ingest, rows, scalar, write
from .helpers import FMT, cdr18

T = datetime(2026, 9, 1, 10, 0)
VISITS = "visit_id,arrived_at,ended_at,department,kind,topic,phone\n"


def later_commands_work(db_path: str, tmp_path: Path) -> None:
    """What a user runs next: all of it must still work on this database."""
    for args in (
        ["judge"],
        ["status"],
        ["flags"],
        ["query", "SELECT count(*) FROM contacts"],
        ["report", "--week", "2026-W36", "--out", str(tmp_path / "reports")],
    ):
        result = CliRunner().invoke(main, ["--db", db_path, *args])
        assert result.exit_code == 0, (args, result.output)


def test_a_visit_ending_a_century_later_is_rejected_and_nothing_breaks(db, db_path, tmp_path):
    # The audit: committed, then every contacts rebuild failed and judge said "0 contacts judged".
    report = ingest(
        db,
        "visits",
        write(
            tmp_path,
            "v.csv",
            VISITS + "V1,2026-09-01 10:00,2126-09-01 10:30,税務課,苦情,住民税,09012345678\n"
            "V2,2026-09-01 11:00,2026-09-01 11:30,税務課,苦情,住民税,09012345679\n",
        ),
    )
    assert (report.files[0].kept, report.files[0].rejected) == (1, 1)
    assert rows(db, "SELECT line, reason FROM rejects") == [
        (2, "the visit lasts more than a day (it ends 2126-09-01 10:30) - a typo in a time?")
    ]
    ingest(db, "calls", write(tmp_path, "c.csv", cdr18("09012345678", T) + "\n"))  # the next ingest works
    db.close()
    later_commands_work(db_path, tmp_path)
    with connect(db_path, read_only=True) as reopened:
        assert scalar(reopened, "SELECT contacts_judged FROM judge_runs") == 2


def test_the_nightly_rejects_the_row_instead_of_failing_every_run(tmp_path):
    inbox = tmp_path / "inbox" / "visits"
    inbox.mkdir(parents=True)
    (inbox / "v.csv").write_text(
        VISITS + "V1,2026-09-01 10:00,2126-09-01 10:30,税務課,苦情,住民税,09012345678\n"
        "V2,2026-09-01 11:00,2026-09-01 11:30,税務課,苦情,住民税,09012345679\n"
    )
    for _ in range(2):
        result = CliRunner().invoke(
            main, ["--db", str(tmp_path / "k.duckdb"), "nightly", "--inbox", str(tmp_path / "inbox"), "--settle", "0"]
        )
        assert result.exit_code in (0, 3), result.output  # 3: rows were rejected; the run itself did not fail
        assert "Current transaction is aborted" not in result.output


def test_a_call_longer_than_int32_seconds_is_rejected_and_the_file_kept(db, db_path, tmp_path):
    huge = cdr18("09012345678", T).replace(",60,", ",2147483648,", 1).replace(",65,", ",2147483648,", 1)
    lines = [huge, cdr18("09012345679", T + timedelta(hours=1)), cdr18("09012345670", T + timedelta(hours=2))]
    result = ingest(db, "calls", write(tmp_path, "c.csv", "\n".join(lines) + "\n")).files[0]
    assert (result.kept, result.rejected) == (2, 1)
    assert scalar(db, "SELECT reason FROM rejects").startswith("a duration of 2147483648 s is more than a day")
    db.close()
    later_commands_work(db_path, tmp_path)


def test_a_mapped_talk_time_of_a_million_hours_is_rejected(db, tmp_path):
    mapping = load_mapping(
        write(tmp_path, "m.toml", 'duration_format = "hms"\n[columns]\ncaller = "c"\nstart = "s"\ntalk = "t"\n')
    )
    export = (
        "c,s,t\n09012345678,2026-09-01 10:00:00,600000:00:00\n09012345678,2026-09-01 11:00:00,0:05:00\n"
        "09012345678,2026-09-01 12:00:00,99999999999999999999:00:00\n"
    )
    result = ingest(db, "calls", write(tmp_path, "x.csv", export), mapping=mapping).files[0]
    assert (result.kept, result.rejected) == (1, 2)
    reasons = [r[0] for r in rows(db, "SELECT reason FROM rejects ORDER BY line")]
    assert reasons[0].startswith("a duration of 2160000000 s is more than a day")
    assert reasons[1] == "talk time '99999999999999999999:99:99' is not H:MM:SS"


def test_a_date_years_away_from_the_rest_of_its_file_is_a_typo(db, tmp_path):
    lines = [cdr18(f"0901234{5600 + i}", T + timedelta(minutes=i)) for i in range(5)]
    lines.append(cdr18("09012345699", datetime(2126, 9, 1, 10, 0)))  # 2126 for 2026
    result = ingest(db, "calls", write(tmp_path, "c.csv", "\n".join(lines) + "\n")).files[0]
    assert (result.kept, result.rejected) == (5, 1)
    assert scalar(db, "SELECT reason FROM rejects").startswith(
        "start time 2126-09-01 10:00 is more than 5 years from this file's other records (around 2026-09-01)"
    )


def test_an_epoch_beyond_the_year_3000_is_no_time(db, tmp_path):
    mapping = load_mapping(
        write(tmp_path, "m.toml", 'time_formats = ["epoch"]\n[columns]\ncaller = "c"\nstart = "s"\nend = "e"\n')
    )
    export = "c,s,e\n09012345678,1788224400,1788224700\n09012345678,9999999999999,9999999999999\n"
    result = ingest(db, "calls", write(tmp_path, "x.csv", export), mapping=mapping).files[0]
    assert (result.kept, result.rejected) == (1, 1)


def test_a_stored_row_from_before_the_checks_cannot_stop_a_rebuild_or_a_judge(db, tmp_path):
    """A database written by an earlier version may hold such a row: contacts and judge still work."""
    ingest(
        db,
        "visits",
        write(tmp_path, "v.csv", VISITS + "V1,2026-09-01 10:00,2026-09-01 10:30,税務課,苦情,住民税,09012345678\n"),
    )
    db.con.execute("UPDATE visit_records SET ended_at = TIMESTAMPTZ '2126-09-01 10:30:00+09'")
    from kasuhara_metrics import contacts

    with db.transaction():
        contacts.rebuild(db)
    assert scalar(db, "SELECT talk_s FROM contacts") == 2147483647
    assert judge(db, load_profile()).contacts_judged == 1


# ---- hostile rows: whatever a line holds, it is kept, rejected or a duplicate, and nothing breaks ----

WORDS = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "2147483648",
        "9" * 30,
        "1e308",
        "NaN",
        "\x00",
        "\u202e",
        "=1+1",
        "'",
        '"',
        "\\",
        "非通知",
        "2126-09-01 10:00:00",
        "0000-00-00 00:00:00",
        "2026-02-30 10:00:00",
        "1970-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "ANSWERED",
        "BUSY",
        "\ufffd",
        "\t",
        " ",
    ]
)
FIELD = st.one_of(WORDS, st.text(max_size=12), st.integers(-(2**70), 2**70).map(str))


def hostile_line(fields: list[str]) -> str:
    return ",".join('"' + f.replace('"', '""') + '"' for f in fields)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    damage=st.lists(st.tuples(st.integers(0, 17), FIELD), min_size=1, max_size=6),
    count=st.integers(1, 6),
    encoding=st.sampled_from(["utf-8", "cp932", "latin-1"]),
)
def test_hostile_rows_are_accounted_for_and_the_database_stays_usable(damage, count, encoding):
    good = [cdr18(f"0901234{5600 + i}", T + timedelta(minutes=7 * i)) for i in range(count)]
    fields = next(iter(__import__("csv").reader([good[0]])))
    for position, value in damage:
        fields[position] = value
    lines = good + [hostile_line(fields)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.csv"
        path.write_bytes("\n".join(lines).encode(encoding, errors="replace") + b"\n")
        db = connect(str(Path(folder) / "k.duckdb"))
        try:
            report = ingest_files(db, "calls", [str(path)], IngestOptions())
            for result in report.files:
                assert result.rows_read == result.kept + result.rejected + result.duplicates
            assert report.failures == [] or all("not look like" in str(f) for f in report.failures)
            judge(db, load_profile())
            assert scalar(db, "SELECT count(*) FROM contacts") >= 0
            assert scalar(db, "SELECT count(*) FROM visits") == 0
            rows(db, "SELECT * FROM calls")
            rows(db, "SELECT * FROM requesters")
        finally:
            db.close()


def test_helpers_write_the_default_format():
    assert datetime.strptime("2026-09-01 10:00:00", FMT) == T
