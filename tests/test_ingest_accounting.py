"""Nothing lost, nothing doubled: rows read = kept + rejected + duplicates, on generated files.

A record already stored is a duplicate; distinct records stay distinct even when they share a
uniqueid (forked legs). A record with a uniqueid is one call however often it is written. Identical
rows without ids inside one file are distinct calls (the n-th copy in a file is a duplicate only if
the store already holds n copies), so a re-sent or overlapping export is kept once and a genuine
repeat is not merged away.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.ingest import IngestOptions, ingest_files

from .helpers import cdr18

T0 = datetime(2026, 9, 1, 9, 0, 0)
# Eight distinct records; 0 and 1 are forked legs: same uniqueid, different destination channel.
POOL = [
    cdr18("09012345678", T0, dst="201", uniqueid="1788000000.1", dstchannel="SIP/201-a"),
    cdr18("09012345678", T0, dst="202", uniqueid="1788000000.1", dstchannel="SIP/202-b", disposition="NO ANSWER"),
] + [cdr18(f"0901234{5600 + i}", T0 + timedelta(minutes=7 * i), talk=30 + i) for i in range(6)]
# Three records without ids (16 columns, as older Asterisk writes them).
POOL += [",".join(cdr18(f"0801234{5600 + i}", T0 + timedelta(hours=2, minutes=i)).split(",")[:16]) for i in range(3)]
HAS_ID = [True] * 8 + [False] * 3
MALFORMED = [
    '"","09011112222","201"',
    '"","09011112222","201","from-trunk","""unterminated',
    POOL[2].replace("2026-09-01", "2026-02-30"),
    ",,,,,,,,,,,,,,,,,",
    POOL[3].replace('"DOCUMENTATION"', "DOCU\rMENTATION"),  # a bare carriage return inside a line
]

line_strategy = st.one_of(
    st.tuples(st.just("good"), st.integers(0, len(POOL) - 1)),
    st.tuples(st.just("bad"), st.integers(0, len(MALFORMED) - 1)),
    st.tuples(st.just("blank"), st.just(0)),
)
file_strategy = st.lists(line_strategy, min_size=1, max_size=25).filter(lambda f: any(k == "good" for k, _ in f))


def render(spec) -> str:
    texts = {"good": POOL, "bad": MALFORMED, "blank": [""]}
    return "\n".join(texts[kind][index] for kind, index in spec) + "\n"


def expected(spec, stored: Counter) -> tuple[int, int, int, int]:
    """Plain-Python reference: (rows read, kept, rejected, duplicates), updating `stored`."""
    seen: Counter = Counter()
    kept = duplicates = 0
    for kind, index in spec:
        if kind == "good":
            seen[index] += 1
            copies = min(seen[index], 1) if HAS_ID[index] else seen[index]
            if seen[index] > copies or copies <= stored[index]:
                duplicates += 1
            else:
                kept += 1
    for index, count in seen.items():
        stored[index] = max(stored[index], min(count, 1) if HAS_ID[index] else count)
    rejected = sum(1 for kind, _ in spec if kind == "bad")
    return kept + duplicates + rejected, kept, rejected, duplicates


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(file_strategy, min_size=1, max_size=3))
def test_every_row_is_kept_rejected_or_a_duplicate(files):
    stored: Counter = Counter()
    with tempfile.TemporaryDirectory() as folder:
        db = connect(str(Path(folder) / "p.duckdb"))
        try:
            for number, spec in enumerate(files):
                path = Path(folder) / f"export-{number}.csv"
                path.write_text(render(spec), encoding="utf-8")
                report = ingest_files(db, "calls", [str(path)], IngestOptions(force=True))
                assert not report.failures
                result = report.files[0]
                read, kept, rejected, duplicates = expected(spec, stored)
                assert (result.rows_read, result.kept, result.rejected, result.duplicates) == (
                    read,
                    kept,
                    rejected,
                    duplicates,
                )
                assert result.rows_read == result.kept + result.rejected + result.duplicates
            assert db.con.execute("SELECT count(*) FROM call_legs").fetchall()[0][0] == sum(stored.values())
            # A file read again does not store its rejects twice.
            distinct_files = {render(spec): spec for spec in files}
            assert db.con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == sum(
                1 for spec in distinct_files.values() for kind, _ in spec if kind == "bad"
            )
            logged = db.con.execute(
                "SELECT sum(rows_read), sum(kept + rejected + duplicates) FROM ingest_log"
            ).fetchall()[0]
            assert logged[0] == logged[1]
        finally:
            db.close()


def test_reingesting_a_file_changes_nothing(db, tmp_path):
    path = tmp_path / "Master.csv"
    path.write_text(render([("good", i) for i in range(len(POOL))] + [("bad", 0)]), encoding="utf-8")
    first = ingest_files(db, "calls", [str(path)], IngestOptions())
    snapshot = [
        db.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("call_legs", "rejects", "ingest_log", "contacts")
    ]
    again = ingest_files(db, "calls", [str(path)], IngestOptions())
    renamed = tmp_path / "Master-renamed.csv"
    renamed.write_bytes(path.read_bytes())
    third = ingest_files(db, "calls", [str(renamed)], IngestOptions())
    assert first.files[0].kept == len(POOL)
    assert again.files[0].skipped_as and third.files[0].skipped_as
    after = [
        db.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("call_legs", "rejects", "ingest_log", "contacts")
    ]
    assert after == snapshot


def test_an_overlapping_export_adds_only_the_new_records(db, tmp_path):
    first = tmp_path / "a.csv"
    second = tmp_path / "b.csv"
    first.write_text(render([("good", i) for i in range(5)]), encoding="utf-8")
    second.write_text(render([("good", i) for i in range(3, 8)]), encoding="utf-8")
    report = ingest_files(db, "calls", [str(first), str(second)], IngestOptions())
    assert [(f.kept, f.duplicates) for f in report.files] == [(5, 0), (3, 2)]
    assert db.con.execute("SELECT count(*) FROM call_legs").fetchall()[0][0] == 8


def count_batches(monkeypatch) -> list[int]:
    """The number of files of each batch stored from now on."""
    from kasuhara_metrics.ingest import driver

    batches: list[int] = []
    store_batch = driver._store_batch

    def counted(db, store, batch, *rest):
        batches.append(len(batch))
        return store_batch(db, store, batch, *rest)

    monkeypatch.setattr(driver, "_store_batch", counted)
    return batches


def test_batches_end_at_their_bytes_and_store_what_one_batch_stores(tmp_path, monkeypatch):
    """Files are stored in batches bounded by rows, files and input bytes (the Python side's memory):
    a batch per file stores exactly what one batch of all files stores."""
    from kasuhara_metrics.ingest import driver

    paths = []
    for n in range(4):
        path = tmp_path / f"day{n}.csv"
        path.write_text("\n".join(POOL[2 * n : 2 * n + 2]) + "\n", encoding="utf-8")
        paths.append(str(path))
    batches = count_batches(monkeypatch)
    stored = {}
    for name, limit in (("one batch", driver.BATCH_BYTES), ("a batch per file", 1)):
        monkeypatch.setattr(driver, "BATCH_BYTES", limit)
        batches.clear()
        with connect(str(tmp_path / f"{name}.duckdb")) as db:
            assert not ingest_files(db, "calls", paths, IngestOptions()).failures
            stored[name] = (
                batches.copy(),
                db.con.execute("SELECT * EXCLUDE (file_id) FROM call_legs ORDER BY call_ref, line").fetchall(),
                db.con.execute("SELECT * FROM contacts ORDER BY contact_id").fetchall(),
            )
    assert stored["one batch"][0] == [4] and stored["a batch per file"][0] == [1, 1, 1, 1]
    assert stored["one batch"][1:] == stored["a batch per file"][1:]


def test_the_first_batches_are_smaller_so_storing_starts_early(tmp_path, monkeypatch):
    """An eighth of the limits, a quarter, a half, then whole batches: storing starts after a few files
    are read, not a batch's worth (batches store what one batch stores: the test above)."""
    from kasuhara_metrics.ingest import driver

    paths = []
    for n in range(20):
        path = tmp_path / f"call{n:02d}.csv"
        path.write_text(cdr18(f"09012{n:06d}", T0 + timedelta(minutes=n)) + "\n", encoding="utf-8")
        paths.append(str(path))
    batches = count_batches(monkeypatch)
    monkeypatch.setattr(driver, "BATCH_ROWS", 8)
    with connect(str(tmp_path / "ramp.duckdb")) as db:
        report = ingest_files(db, "calls", paths, IngestOptions())
        assert not report.failures and sum(f.kept for f in report.files) == 20
        assert batches == [1, 2, 4, 8, 5]
        # a second call of ingest starts small again
        more = tmp_path / "more.csv"
        lines = [cdr18(f"08012{n:06d}", T0 + timedelta(hours=1, minutes=n)) for n in range(3)]
        more.write_text("\n".join(lines) + "\n", encoding="utf-8")
        batches.clear()
        assert ingest_files(db, "calls", [str(more)], IngestOptions()).files[0].kept == 3
        assert batches == [1]


def test_files_read_ahead_come_in_order_errors_reach_the_reader_and_stopping_frees_the_thread():
    """Files are read in a thread ahead of the batch being stored: that must change nothing but time."""
    import itertools
    import threading

    from kasuhara_metrics.ingest.readahead import read_ahead

    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))

    def failing():
        yield from range(5)
        raise ValueError("a bug while reading")

    got = []
    try:
        for item in read_ahead(failing(), depth=4):
            got.append(item)
    except ValueError as exc:
        assert str(exc) == "a bug while reading"
    else:
        raise AssertionError("the reader's error was lost")
    assert got == list(range(5))

    before = threading.active_count()
    endless = read_ahead(itertools.count(), depth=2)
    assert [next(endless) for _ in range(3)] == [0, 1, 2]
    endless.close()  # what an error while storing does
    assert threading.active_count() == before


def test_files_read_ahead_wait_within_their_byte_budget():
    """The reader stops a budget's worth of input ahead, whatever the count; one heavy file still passes."""
    import time

    from kasuhara_metrics.ingest.readahead import read_ahead

    produced = []

    def sizes():
        for size in (40, 40, 40, 500, 10):
            produced.append(size)
            yield size

    reads = read_ahead(sizes(), depth=100, weigh=lambda size: size, budget=100)
    assert next(reads) == 40
    # taken: 40; waiting: 40 + 40 = 80, and the 500 read but held back until there is room
    deadline = time.monotonic() + 10
    while len(produced) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # had the budget not held it back, the reader would have gone on by now
    assert produced == [40, 40, 40, 500]
    assert list(reads) == [40, 40, 500, 10]


def test_batches_inside_one_transaction_leave_nothing_behind(tmp_path, monkeypatch):
    """The nightly run stores every batch in one transaction: a batch's scratch must be let go when
    the batch is stored, not when the transaction ends, or a year of batches piles up in memory.
    Measured as Arrow's own allocations (the staged rows) and DuckDB's in-memory tables."""
    import gc

    import pyarrow as pa

    from kasuhara_metrics.ingest import driver

    paths = []
    for n in range(6):
        path = tmp_path / f"day{n}.csv"
        start = T0 + timedelta(days=n)
        lines = [cdr18(f"0901{n}{i:06d}", start + timedelta(seconds=20 * i), talk=30) for i in range(2000)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    monkeypatch.setattr(driver, "BATCH_BYTES", 1)  # a batch per file
    monkeypatch.setattr(driver, "read_ahead", lambda items, *_, **__: items)  # read in turn: nothing ahead
    held_after: list[int] = []
    store_batch = driver._store_batch

    def measured(*args):
        store_batch(*args)
        gc.collect()
        held_after.append(pa.total_allocated_bytes())

    monkeypatch.setattr(driver, "_store_batch", measured)
    with connect(str(tmp_path / "one.duckdb")) as db, db.transaction():
        report = ingest_files(db, "calls", paths, IngestOptions(), rebuild_contacts=False)
        assert not report.failures and sum(f.kept for f in report.files) == 12_000
        temp_tables = db.con.execute(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'"
        ).fetchall()[0][0]
    # Measured as each batch is stored, its file still held: the same each time, where batches
    # piling up would have held one file more each time.
    assert max(held_after) < 1.2 * min(held_after), held_after
    # DuckDB's in-memory tables hold the transaction's stored legs (~400 bytes each), and no batch's
    # typed rows besides (which took ~1,500 bytes a leg more when they piled up)
    assert temp_tables < 600 * 12_000


def test_large_batches_fill_the_tables_row_groups_in_turn(tmp_path, monkeypatch):
    """A batch of more rows than a row group is inserted in slices: several threads inserting one
    large batch would each leave a partly filled row group, which the next run's checkpoint merges
    at a cost (0.7 s on a 1M-record year). Stored in one transaction, as the nightly run does."""
    from kasuhara_metrics.ingest import driver

    paths = []
    for n in range(2):
        path = tmp_path / f"day{n}.csv"
        start = T0 + timedelta(days=n)
        lines = [cdr18(f"0901{n}{i:06d}", start + timedelta(seconds=i), talk=30) for i in range(130_000)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    monkeypatch.setattr(driver, "BATCH_BYTES", 1)  # a batch per file, each more than a row group
    with connect(str(tmp_path / "legs.duckdb")) as db:
        db.con.execute("SET threads = 4")  # parallel inserts, whatever the machine
        with db.transaction():
            report = ingest_files(db, "calls", paths, IngestOptions(), rebuild_contacts=False)
        assert not report.failures and sum(f.kept for f in report.files) == 260_000
        sizes = [
            n
            for (n,) in db.con.execute(
                "SELECT count FROM pragma_storage_info('call_legs') "
                "WHERE column_name = 'line' AND segment_type = 'BIGINT' ORDER BY row_group_id"
            ).fetchall()
        ]
    # as committed (a later checkpoint would merge partly filled groups, at that run's cost)
    assert sum(sizes) == 260_000 and len(sizes) == 3, sizes  # 122,880 + 122,880 + the rest
