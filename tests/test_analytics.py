"""desk/analytics.py: the analysts' read-only door lets out the documented views and nothing else (issue 12).

Every bypass the audit found is a test: a CTE name shadowing a hidden table elsewhere in the query,
EXPLAIN ANALYZE printing a value in its error, storage functions showing min/max statistics, and
engine errors echoing a row's content.
"""

from __future__ import annotations

import pytest

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.errors import KasuharaError, ReadOnlyQuery
from kasuhara_metrics.desk.analytics import run_query

from .conftest import ingest, write

SUMMARY = "山田太郎 090-5123-4567 が来庁"
VISITS = (
    "visit_id,arrived_at,ended_at,department,kind,topic,phone,summary\n"
    f"V1,2026-09-01 10:00,2026-09-01 10:30,税務課,苦情,住民税,09012345678,{SUMMARY}\n"
)


@pytest.fixture
def reader(db, db_path, tmp_path):
    ingest(db, "visits", write(tmp_path, "v.csv", VISITS))
    db.close()
    with connect(db_path, read_only=True) as opened:
        yield opened


@pytest.mark.parametrize(
    "sql",
    [
        # a CTE named like a hidden table in one subquery does not make the real table elsewhere a CTE
        "SELECT b.* FROM (WITH visit_summaries AS (SELECT 1) SELECT 1 FROM visit_summaries) a, "
        "(SELECT * FROM visit_summaries) b",
        "WITH x AS (WITH visit_summaries AS (SELECT 1) SELECT * FROM visit_summaries) SELECT * FROM x, visit_summaries",
        "SELECT * FROM visit_summaries",
        "SELECT * FROM main.visit_summaries",
        "SELECT * FROM visit_records",
        "EXPLAIN ANALYZE SELECT CAST(summary AS INTEGER) FROM visit_summaries",
        "/* plan */ explain analyze SELECT count(*) FROM calls",
        "SELECT * FROM pragma_storage_info('visit_summaries')",
        "SELECT * FROM duckdb_tables()",
        "SELECT * FROM query('SELECT * FROM visit_summaries')",
        "SELECT * FROM read_csv('/etc/passwd')",
    ],
)
def test_every_way_around_the_views_is_refused(reader, sql):
    with pytest.raises(ReadOnlyQuery):
        run_query(reader, sql)


def test_a_cte_of_ones_own_is_fine(reader):
    assert run_query(reader, "WITH v AS (SELECT * FROM visits) SELECT count(*) FROM v")[1] == [(1,)]
    assert run_query(reader, "SELECT count(*) FROM range(3)")[1] == [(3,)]
    assert run_query(reader, "EXPLAIN SELECT count(*) FROM visits")[0]


def test_an_engine_error_does_not_print_the_value_it_failed_on(reader):
    with pytest.raises(KasuharaError) as error:
        run_query(reader, "SELECT CAST(topic AS INTEGER) FROM visits")
    assert "住民税" not in str(error.value) and "query failed" in str(error.value)
