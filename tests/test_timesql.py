"""Exported time text read as DuckDB reads it, with the shortcuts ingest/timesql.py takes."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from kasuhara_metrics.ingest.timesql import instant_sql, literal_characters, strptime_sql

FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H時%M分",
    "%Y/%-m/%-d %-H:%M",
    "%H%%%M %Y-%m-%d",
]


@st.composite
def written_times(draw) -> str:
    """A time written in one of the formats, sometimes damaged: a character dropped, changed or added."""
    moment = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)))
    text = moment.strftime(draw(st.sampled_from(FORMATS)))
    if draw(st.booleans()) and text:
        at = draw(st.integers(0, len(text) - 1))
        change = draw(st.sampled_from(["", "-", "/", ":", " ", "T", "t", "0", "9", "%", "年", "-:"]))
        text = text[:at] + change + text[at + draw(st.integers(0, 1)) :]
    return draw(st.sampled_from(["", " "])) + text


values = st.one_of(written_times(), st.text(alphabet="0123456789-/:T %年", max_size=20), st.none())


@given(st.lists(values, min_size=1, max_size=30), st.lists(st.sampled_from(FORMATS), min_size=1, max_size=4))
def test_trying_only_formats_whose_characters_a_value_holds_reads_what_duckdb_reads(texts, formats):
    _times = pa.table({"t": pa.array(texts, pa.string())})  # read by name below
    got = duckdb.sql(
        f"SELECT {strptime_sql('t', formats)}, try_strptime(t, $formats) FROM _times", params={"formats": formats}
    ).fetchall()
    assert [shortcut for shortcut, _ in got] == [plain for _, plain in got]


def test_the_characters_a_format_writes_as_themselves():
    assert literal_characters("%Y-%m-%d %H:%M:%S") == {"-": 2, ":": 2}
    assert literal_characters("%Y/%-m/%-d %-H:%M") == {"/": 2, ":": 1}
    assert literal_characters("%Y年%m月%d日 %H時%M分") == {"年": 1, "月": 1, "日": 1, "時": 1, "分": 1}
    assert literal_characters("%H%%%M") == {"%": 1}
    assert literal_characters("%s") == {}


def test_an_empty_time_is_no_time_and_a_full_width_one_is_read():
    _times = pa.table({"t": pa.array(["", None, "　", "２０２６－０９－０１　１０：１５", "2026-09-01 10:15"])})
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = f"SELECT strftime({instant_sql('t', tuple(FORMATS[:4]))}, '%Y-%m-%d %H:%M') FROM _times"
    got = con.execute(sql, {"clock_zone": "Asia/Tokyo", "time_formats": FORMATS[:4]}).fetchall()
    assert [value for (value,) in got] == [None, None, None, "2026-09-01 01:15", "2026-09-01 01:15"]  # 10:15 JST
