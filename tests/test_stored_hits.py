"""The last run's hits stand in for measuring a history again (judge/hits.py, take_stored_hits).

A nightly run measures only from `measure_from` on and reduces each stored flag's earlier hits to
two rows. Over random hits of several rules and groups (overrides whose watch hits outvalue alert
hits included), the episodes made from those rows and the newly measured hits are exactly the
episodes of all hits, for every flag the run judges again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.duckutil import extend_back_over
from kasuhara_metrics.judge.episodes import EPISODES_SQL
from kasuhara_metrics.judge.hits import take_stored_hits
from kasuhara_metrics.judge.prepare import HIT_COLUMNS, create_hits_table
from kasuhara_metrics.judge.scope import Scope

T0 = datetime(2026, 9, 1, tzinfo=timezone(timedelta(hours=9)))
REQUESTER = "Rtest"
EPISODE_COLUMNS = (
    "flag_id, rule_id, requester_key, group_key, first_at, last_at, value, severity, threshold, override_id, "
    "evidence_from"
)

hit = st.tuples(
    st.sampled_from(["cross_department", "same_topic"]),  # rule
    st.sampled_from([None, "住民税"]),  # group
    st.integers(0, 240),  # window start, hours from T0
    st.integers(0, 72),  # window length, hours
    st.sampled_from([3.0, 4.0, 5.0, 9.0]),  # value
    st.sampled_from(["watch", "alert"]),
    st.sampled_from([3.0, 4.0]),  # threshold
    st.sampled_from([None, "窓口", "福祉"]),  # override
)


def _rows(hits):
    return [
        (rule, REQUESTER, group, T0 + timedelta(hours=start), T0 + timedelta(hours=start + length), *rest)
        for rule, group, start, length, *rest in hits
    ]


def _insert(db, table: str, rows) -> None:
    if rows:
        db.con.executemany(f"INSERT INTO {table} ({', '.join(HIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _episodes(db) -> list[tuple]:
    """The episodes of `_hits` (EPISODES_SQL)."""
    db.con.execute(f"CREATE OR REPLACE TEMP TABLE _episodes AS {EPISODES_SQL}")
    return db.con.execute(f"SELECT {EPISODE_COLUMNS} FROM _episodes ORDER BY ALL").fetchall()


@settings(max_examples=100, deadline=None)
# before measure_from, a watch hit (an override's tiers) outvalues the worst hit: the flag's value is its
@example(
    hits=[
        ("cross_department", None, 0, 10, 3.0, "alert", 3.0, None),
        ("cross_department", None, 5, 10, 9.0, "watch", 4.0, "窓口"),
        ("cross_department", None, 12, 10, 4.0, "watch", 3.0, None),
    ],
    measure_hour=11,
)
@given(hits=st.lists(hit, min_size=1, max_size=25), measure_hour=st.integers(0, 300))
def test_stored_hits_reduced_give_the_episodes_of_all_hits(hits, measure_hour):
    rows = _rows(hits)
    measure_from = T0 + timedelta(hours=measure_hour)
    with connect(":memory:") as db:
        create_hits_table(db)
        _insert(db, "_hits", rows)
        whole = _episodes(db)
        # what the last run stored: its hits and its flags
        _insert(db, "rule_hits", rows)
        for flag_id, rule, requester, group, first, last, value, severity, threshold, *_ in whole:
            db.con.execute(
                "INSERT INTO flag_rows (flag_id, run_id, requester_key, rule_id, rule_hash, profile_name, "
                "profile_version, category, behaviour, severity, group_key, first_at, last_at, value, threshold, "
                "unit, detail, contacts) VALUES (?, 1, ?, ?, '', '', '', '', '', ?, ?, ?, ?, ?, ?, '', '', 0)",
                [flag_id, requester, rule, severity, group, first, last, value, threshold],
            )
        # each stored hit with the flag it lies in, as keep_hits stores it
        db.con.execute("""
            UPDATE rule_hits SET flag_id = f.flag_id FROM flag_rows f
            WHERE f.requester_key = rule_hits.requester_key AND f.rule_id = rule_hits.rule_id
              AND f.group_key IS NOT DISTINCT FROM rule_hits.group_key
              AND rule_hits.window_start BETWEEN f.first_at AND f.last_at
        """)
        # the run's bounds, as scope.py sets them: flags reaching measure_from are made again whole
        db.con.execute(
            "CREATE TEMP TABLE _scope AS SELECT ? AS requester_key, ? AS changed_from, ? AS measure_from, "
            "? AS keep_from, ? AS judge_from",
            [REQUESTER, measure_from, measure_from, measure_from, measure_from],
        )
        flags = "SELECT requester_key, first_at AS started_at, last_at AS ended_at FROM flag_rows"
        extend_back_over(db.con, "_scope", "requester_key", "keep_from", flags)
        keep_from = db.con.execute("SELECT keep_from FROM _scope").fetchone()[0]
        # the increment: stored hits before measure_from, measured ones from it on
        create_hits_table(db)
        take_stored_hits(db, Scope([REQUESTER], incremental=True))
        measured = [row for row in rows if row[3] >= measure_from]
        _insert(db, "_hits", measured)
        again = _episodes(db)
        stored_rows = db.con.execute("SELECT count(*) FROM _hits").fetchone()[0]
    assert again == [episode for episode in whole if episode[4] >= keep_from]
    # and the history is not all carried over: two rows at most for each flag taken again
    assert stored_rows <= len(measured) + 2 * sum(1 for e in whole if e[4] >= keep_from)
