"""ingest/sources/threecx.py: cdr.log without header or quotes, UTC times, blank lines, IVR and queue types."""

from __future__ import annotations

from kasuhara_metrics.judge import judge
from kasuhara_metrics.rules import load_profile

from .conftest import FILES, ingest, rows, write

LOG = FILES / "3cx" / "cdr.log"


def legs(db):
    return rows(
        db,
        """SELECT caller_class, strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%H:%M:%S'), billsec_s, outcome
                       FROM call_legs ORDER BY line""",
    )


def test_cdr_log_is_recognised_and_read_in_utc(db):
    result = ingest(db, "calls", LOG).files[0]
    # Eight records; the blank line after each is no row.
    assert (result.format, result.rows_read, result.kept, result.rejected) == ("3cx-cdr-27", 8, 8, 0)
    assert result.clock.startswith("UTC (")
    got = legs(db)
    assert got[0] == ("external", "09:30:00", 360, "answered")  # 00:30 UTC; talk is answer to end
    # The IVR took the call four times: machine. Nobody answered the queue: no answer.
    assert [g[3] for g in got[1:6]] == ["machine"] * 4 + ["no_answer"]
    # Ext.101 calling out is staff; a display name with a comma does not shift the call's own fields.
    assert got[6][0] == "internal" and got[6][3] == "answered"
    assert got[7] == ("external", "10:10:00", 90, "answered")


def test_without_the_type_fields_the_file_says_what_it_cannot_tell(db, tmp_path):
    short = "".join(",".join(line.split(",")[:20]) + "\r\n" for line in LOG.read_text().splitlines() if line)
    result = ingest(db, "calls", write(tmp_path, "cdr.log", short)).files[0]
    assert result.format == "3cx-cdr-20"
    assert "no final-type field" in result.summary()


def test_no_flag_from_menu_calls(db):
    ingest(db, "calls", LOG)
    judge(db, load_profile())
    assert rows(db, "SELECT count(*) FROM flags") == [(0,)]
