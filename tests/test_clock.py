"""ingest/clock.py and the clock of every file: UTC Asterisk files, settings, offsets, epochs, warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kasuhara_metrics.common import arrays
from kasuhara_metrics.common.errors import MappingError, SettingsError
from kasuhara_metrics.common.site import SiteSettings, load_site
from kasuhara_metrics.ingest.clock import clock_from_uniqueids
from kasuhara_metrics.ingest.sources.mapped import load_mapping

from .conftest import FILES, ingest, rows, scalar, write
from .helpers import cdr18, epoch

TOKYO = ZoneInfo("Asia/Tokyo")


def local_times(db) -> list[str]:
    return [
        r[0]
        for r in rows(
            db,
            "SELECT strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%Y-%m-%d %H:%M:%S') FROM call_legs ORDER BY line",
        )
    ]


def test_uniqueid_epochs_tell_a_utc_file_from_a_site_time_file():
    starts = ["2026-09-01 01:00:00", "2026-09-01 02:00:00", "2026-09-01 03:00:00"]
    utc_ids = [f"{int(datetime.fromisoformat(s + '+00:00').timestamp())}.1" for s in starts]
    tokyo_ids = [f"{int(datetime.fromisoformat(s + '+09:00').timestamp())}.1" for s in starts]
    assert clock_from_uniqueids(starts, utc_ids, "Asia/Tokyo").zone == "UTC"
    assert clock_from_uniqueids(starts, tokyo_ids, "Asia/Tokyo").zone == "Asia/Tokyo"
    # A system-name prefix does not hide the epoch; ids without one (A2Billing) prove nothing.
    assert clock_from_uniqueids(starts, [f"pbx1-{u}" for u in utc_ids], "Asia/Tokyo").zone == "UTC"
    assert clock_from_uniqueids(starts, ["A2B03-1234.5"] * 3, "Asia/Tokyo") is None
    # Too few rows with ids, or ids that fit neither reading: the file cannot tell.
    assert clock_from_uniqueids(starts[:2], utc_ids[:2], "Asia/Tokyo") is None
    assert clock_from_uniqueids(starts, ["1700000000.1"] * 3, "Asia/Tokyo") is None
    # A site in UTC: both readings agree, and the site's zone is kept.
    assert clock_from_uniqueids(starts, utc_ids, "UTC").zone == "UTC"


def test_a_usegmtime_file_is_read_in_utc_and_its_clock_is_recorded(db):
    result = ingest(db, "calls", FILES / "asterisk" / "usegmtime-18.csv").files[0]
    assert result.clock == "UTC (from uniqueids (5 of 5 rows): usegmtime=yes)"
    # 23:30 UTC on 31 August is 08:30 on 1 September in Tokyo: the call is on the right day.
    assert local_times(db)[:2] == ["2026-09-01 08:30:00", "2026-09-01 10:05:00"]
    assert scalar(db, "SELECT clock FROM ingest_log").startswith("UTC (")
    assert rows(
        db, "SELECT DISTINCT strftime(started_at AT TIME ZONE 'Asia/Tokyo', '%Y-%m-%d') FROM contacts ORDER BY 1"
    ) == [("2026-09-01",), ("2026-09-02",)]


def test_a_site_time_file_is_confirmed_by_its_uniqueids(db, tmp_path):
    lines = [cdr18("09012345678", datetime(2026, 9, 1, 10, m)) for m in range(3)]
    result = ingest(db, "calls", write(tmp_path, "m.csv", "\n".join(lines) + "\n")).files[0]
    assert result.clock == "Asia/Tokyo (site time zone, confirmed by uniqueids (3 of 3 rows))"
    assert local_times(db)[0] == "2026-09-01 10:00:00"


def test_the_site_clock_setting_overrides_what_the_file_shows(db, tmp_path):
    site = load_site(
        str(write(tmp_path, "site.toml", '[site]\ntimezone = "Asia/Tokyo"\n[site.clock]\nasterisk = "site"\n'))
    )
    result = ingest(db, "calls", FILES / "asterisk" / "usegmtime-18.csv", site=site).files[0]
    assert result.clock == "Asia/Tokyo (site time zone, set by [site.clock] asterisk)"
    assert local_times(db)[0] == "2026-08-31 23:30:00"


def test_a_file_without_uniqueids_follows_the_setting(db, tmp_path):
    # 16 columns: no uniqueid to prove the clock. The site says its PBX writes UTC.
    line = ",".join(cdr18("09012345678", datetime(2026, 9, 1, 1, 0)).split(",")[:16])
    site = SiteSettings(clock=(("asterisk", "utc"),))
    result = ingest(db, "calls", write(tmp_path, "16.csv", line + "\n"), site=site).files[0]
    assert result.clock == "UTC (set by [site.clock] asterisk)"
    assert local_times(db) == ["2026-09-01 10:00:00"]


def test_a_file_that_cannot_tell_and_has_most_calls_at_night_is_warned_about(db, tmp_path):
    night = [
        ",".join(cdr18(f"0901234{5600 + i}", datetime(2026, 9, 1, 1, 0) + timedelta(minutes=7 * i)).split(",")[:16])
        for i in range(24)
    ]
    result = ingest(db, "calls", write(tmp_path, "night.csv", "\n".join(night) + "\n")).files[0]
    assert result.clock == "Asia/Tokyo (site time zone)"
    assert "warning: 24 of 24 calls start between 22:00 and 06:00 site time" in result.summary()
    assert 'clock = "utc"' in scalar(db, "SELECT notes FROM ingest_log")
    # Office hours, or a clock the file proves: no warning.
    day = [line.replace("2026-09-01 0", "2026-09-01 1") for line in night]
    assert "warning" not in ingest(db, "calls", write(tmp_path, "day.csv", "\n".join(day) + "\n")).files[0].summary()


MAPPING = """
name = "cloud"
time_formats = [{formats}]
{clock}
[columns]
caller = "from"
start = "started"
end = "ended"
"""


def mapped_ingest(db, tmp_path, formats, body, clock=""):
    mapping = load_mapping(write(tmp_path, "m.toml", MAPPING.format(formats=formats, clock=clock)))
    return ingest(db, "calls", write(tmp_path, "x.csv", "from,started,ended\n" + body), mapping=mapping).files[0]


def test_times_with_z_or_an_offset_are_read_as_written(db, tmp_path):
    result = mapped_ingest(
        db,
        tmp_path,
        '"%Y-%m-%d %H:%M:%S"',
        "09012345678,2026-09-01T01:00:00Z,2026-09-01T01:05:00Z\n"
        "09012345678,2026-09-01 11:00:00+09:00,2026-09-01 11:05:00+0900\n"
        "09012345678,2026-09-01 12:00:00,2026-09-01 12:05:00\n",
    )
    assert result.rejected == 0
    assert local_times(db) == ["2026-09-01 10:00:00", "2026-09-01 11:00:00", "2026-09-01 12:00:00"]


@pytest.mark.parametrize(
    "formats,start,end",
    [
        ('"epoch"', "1788224400", "1788224700"),
        ('"%s"', "1788224400", "1788224700"),
        ('"epoch_ms"', "1788224400000", "1788224700000"),
    ],
)
def test_mappings_read_epoch_seconds_and_milliseconds(db, tmp_path, formats, start, end):
    result = mapped_ingest(db, tmp_path, formats, f"09012345678,{start},{end}\n09012345678,0,{end}\n")
    assert (result.kept, result.rejected) == (1, 1)
    assert local_times(db) == ["2026-09-01 10:00:00"]
    assert scalar(db, "SELECT reason FROM rejects") == "no start time"


def test_a_mapping_clock_reads_naive_times_in_utc(db, tmp_path):
    result = mapped_ingest(
        db,
        tmp_path,
        '"%Y/%m/%d %H:%M:%S"',
        "09012345678,2026/09/01 01:00:00,2026/09/01 01:05:00\n",
        clock='clock = "utc"',
    )
    assert result.clock.startswith("UTC (set by clock in ")
    assert local_times(db) == ["2026-09-01 10:00:00"]


@pytest.mark.parametrize(
    "line,message",
    [
        ('time_formats = ["%Y-%m-%d %Q"]', "time_formats: '%Y-%m-%d %Q' is not a strptime format DuckDB reads"),
        ('time_formats = ["seconds"]', "time_formats must be a list of strptime formats"),
        ('clock = "JST"', "clock 'JST' is not auto, site, utc or a time zone name"),
    ],
)
def test_a_wrong_time_setting_fails_when_the_mapping_is_loaded(tmp_path, line, message):
    text = f'name = "x"\n{line}\n[columns]\ncaller = "a"\nstart = "b"\nend = "c"\n'
    with pytest.raises(MappingError, match=message) as error:
        load_mapping(write(tmp_path, "m.toml", text))
    assert error.value.source.line == 2


def test_a_wrong_site_clock_names_its_line(tmp_path):
    path = write(
        tmp_path, "site.toml", '[site]\ntimezone = "Asia/Tokyo"\n\n[site.clock]\nasterisk = "utc"\nfreeswitch = "JST"\n'
    )
    with pytest.raises(SettingsError, match="site.clock.freeswitch: clock 'JST'") as error:
        load_site(str(path))
    assert error.value.source.line == 6
    path = write(tmp_path, "site2.toml", '[site.clock]\navaya = "utc"\n')
    with pytest.raises(SettingsError, match="site.clock.avaya names no source"):
        load_site(str(path))


def test_helpers_write_uniqueids_in_site_time():
    # The fixtures' own clock: what a PBX in Tokyo writes with usegmtime=no.
    assert epoch(datetime(2026, 9, 1, 9, 0)) == int(datetime(2026, 9, 1, 0, 0, tzinfo=ZoneInfo("UTC")).timestamp())


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ZONES = ["Asia/Tokyo", "Europe/London", "America/New_York", "Australia/Adelaide", "Asia/Kolkata"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    written_in_utc=st.booleans(),
    calls=st.lists(st.tuples(st.integers(1_767_225_600, 1_830_297_600), st.integers(0, 90)), min_size=3, max_size=30),
)
def test_the_clock_found_is_the_one_the_file_was_written_in(zone, written_in_utc, calls):
    """Reference: a PBX writes each call's start in its clock; its uniqueid is the channel's creation
    epoch, a few seconds before. Whatever the zone and the dates (summer time included), the file's
    own clock is found, or the site's when both readings agree (a zone at UTC then)."""

    written = ZoneInfo("UTC") if written_in_utc else ZoneInfo(zone)
    starts = [datetime.fromtimestamp(at, UTC).astimezone(written).strftime("%Y-%m-%d %H:%M:%S") for at, _ in calls]
    uniqueids = [f"{at - early}.{n}" for n, (at, early) in enumerate(calls)]
    found = clock_from_uniqueids(starts, uniqueids, zone)
    naive = [datetime.strptime(start, "%Y-%m-%d %H:%M:%S") for start in starts]
    if all(n.replace(tzinfo=ZoneInfo(zone)) == n.replace(tzinfo=ZoneInfo("UTC")) for n in naive):
        assert found.zone in (zone, "UTC")  # both readings give the same instants: either is right
    else:
        assert found.zone == ("UTC" if written_in_utc else zone)


start_text = st.one_of(
    # real times in summer-time zones, gaps and repeated hours included
    st.datetimes(min_value=datetime(2025, 3, 1), max_value=datetime(2026, 11, 30)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.sampled_from(
        [
            "2026-03-08 02:30:00",  # New York's spring gap
            "2026-11-01 01:30:00",  # New York's repeated hour
            "2026-03-29 01:30:00",  # London's gap
            "2026-02-30 10:00:00",  # no such day (Arrow would roll it over to March)
            "2026-04-31 10:00:00",
            "2026-02-29 10:00:00",
            "2024-02-29 10:00:00",
            "0999-09-01 10:00:00",
            "2026-09-01 10:00:61",
            "2026-09-01 24:00:00",
            "2026-09-01 10:00:60",
            "2026-9-1 9:00:00",  # strptime takes one-digit fields
            " 2026-09-01 10:00:00 ",
            "2026/09/01 10:00:00",
            "２０２６-09-01 10:00:00",
            "",
        ]
    ),
)
uniqueid_text = st.one_of(
    st.integers(1_740_000_000, 1_800_000_000).map(lambda e: f"{e}.{e % 97}"),
    st.integers(1_740_000_000, 1_800_000_000).map(lambda e: f"pbx1-{e}.7"),
    # dashes in the host part (the epoch is after the last), or a dash with no host before it
    st.integers(1_740_000_000, 1_800_000_000).map(lambda e: f"pbx-{e % 7}-{e}.{e % 5}"),
    st.integers(1_740_000_000, 1_800_000_000).map(lambda e: f"-{e}.1"),
    st.sampled_from(["１７８８２５８４００.1", "pbx\u3000a-1788258400.1", "A2B03-1234.5", "", " 1788258400.3 ", "x"]),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES + ["UTC"]),
    rows=st.lists(st.tuples(start_text, uniqueid_text), max_size=40),
    near=st.booleans(),
)
def test_counting_votes_a_column_at_a_time_equals_counting_them_row_by_row(zone, rows, near):
    """The column way (Arrow) must give every file the votes the row-by-row reference gives it."""
    from kasuhara_metrics.ingest.clock import DEFAULT_START_FORMAT, count_votes, row_votes

    starts = [start for start, _ in rows]
    uniqueids = [uid for _, uid in rows]
    if near:  # uniqueids that do land on their start, read in the zone or in UTC
        uniqueids = [
            f"{_epoch(start, zone if n % 2 else 'UTC')}.{n}" if _epoch(start, zone) is not None else uid
            for n, (start, uid) in enumerate(zip(starts, uniqueids, strict=True))
        ]
    assert count_votes(arrays.strings(starts), arrays.strings(uniqueids), zone, DEFAULT_START_FORMAT) == row_votes(
        starts, uniqueids, zone, DEFAULT_START_FORMAT
    )


def _epoch(text: str, zone: str) -> int | None:
    try:
        return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone)).timestamp())
    except ValueError:
        return None
