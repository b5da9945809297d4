"""Hits: a rule's measurements that reach one of its tiers, each with its severity and threshold.

A run keeps its hits (`rule_hits`), so that the next night measures only what a change can reach
and takes older hits as they were: a streak that has fired all year is extended from its stored
hits instead of measuring a year of contacts again. `meta.hits_of_run` names the judge run whose
hits `rule_hits` holds in full, and `meta.hits_of_code` the judge's code that measured them;
without the run (a run `--as-of` a day, a database from before), or measured by other code (an
upgrade), the next run judges everyone once.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from pathlib import Path

from ..common.db import Database
from ..common.levels import severity_rank_sql
from ..rules import RULE_KINDS, Rule
from .episodes import WORST_HIT_ORDER
from .outcome import RuleOutcome
from .prepare import HIT_COLUMNS
from .scope import Scope


def find_hits(db: Database, rule: Rule, scope: Scope) -> RuleOutcome:
    """Add the rule's hits in scope to `_hits`; count the contacts it looked at and the hits it measured."""
    kind = RULE_KINDS[rule.kind]
    sql, params = kind.hits_sql(rule)
    measured = ", ".join(HIT_COLUMNS[1:])
    kept = scope.hits(f"({sql})", "h")
    try:
        (hits,) = db.con.execute(
            f"INSERT INTO _hits ({', '.join(HIT_COLUMNS)}) SELECT $rule_id, {measured} FROM {kept}",
            {**params, "rule_id": rule.id},
        ).fetchall()[0]
        where, filter_params = kind.looked_at(rule)
        evaluated = db.con.execute(f"SELECT count(*) FROM _judged c WHERE {where}", filter_params).fetchall()[0][0]
    except Exception as exc:
        exc.add_note(f"while judging rule {rule.id} (kind {rule.kind}) of {rule.source}")
        raise
    return RuleOutcome(rule.id, evaluated, hits)


HITS_OF_RUN, HITS_OF_CODE = "hits_of_run", "hits_of_code"


@functools.cache
def judge_code_hash() -> str:
    """A hash of the judge's and the rules' source: stored hits measured by other code (another
    version of kasuhara) may not be what this code measures, so they are not extended."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for source in sorted([*(package / "judge").glob("*.py"), *(package / "rules").rglob("*.py")]):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def stored_hits_complete(db: Database, run_id: int | None) -> bool:
    """Whether `rule_hits` holds every hit of judge run `run_id` (the last one), measured by this code."""
    return run_id is not None and db.meta(HITS_OF_RUN) == str(run_id) and db.meta(HITS_OF_CODE) == judge_code_hash()


def take_stored_hits(db: Database, scope: Scope) -> None:
    """Add to `_hits` what this run needs of the last run's hits (Scope.stored_hits): per flag they
    were stored with (keep_hits), its hits before `measure_from` reduced to two that stand for all.

    An episode is made of its hits' earliest start, latest end, highest value and worst hit, and
    its hits chain when each starts at or before the latest end so far. So the earlier hits of a flag
    are replaced by its worst hit and its highest-valued hit, each stretched over the earliest
    start and latest end of them all: the flag comes out as from every hit, and a new hit joins it
    as it would have joined them. A year-long streak is two rows, not a year of hits.
    """
    if not scope.incremental:
        return
    columns = ", ".join(HIT_COLUMNS)
    # Each flag picks its two hits by row number and reads them back: carrying every hit's columns
    # through the two arg_max took a third longer (a 10M-record year's new day takes 1.7M hits).
    db.con.execute(f"""
        INSERT INTO _hits ({columns})
        WITH taken AS (
            -- each stored hit under the flag it was stored with (keep_hits), which names its
            -- rule, requester and group
            SELECT h.rowid AS hit_row, h.flag_id, h.window_start, h.window_end, h.value, h.threshold,
                   h.override_id, {severity_rank_sql("h.severity")} AS severity_rank
            FROM {scope.stored_hits("h")} WHERE h.flag_id IS NOT NULL
        ), episodes AS (
            SELECT min(window_start) AS window_start, max(window_end) AS window_end,
                   [arg_max(hit_row, {WORST_HIT_ORDER}), arg_max(hit_row, value)] AS standing_for
            FROM taken GROUP BY flag_id
        ), standing AS (
            SELECT window_start, window_end, unnest(standing_for) AS hit_row FROM episodes
        )
        SELECT h.rule_id, h.requester_key, h.group_key, s.window_start, s.window_end,
               h.value, h.severity, h.threshold, h.override_id
        FROM standing s JOIN rule_hits h ON h.rowid = s.hit_row
    """)


def keep_hits(db: Database, scope: Scope, run_id: int, as_of: date | None, complete_before: bool) -> None:
    """Store this run's hits in `rule_hits` in place of those it measured again.

    A run `--as-of` a day measured less than the history holds: its hits are not stored, and the
    stored ones no longer match the flags, so none count as complete. `complete_before`: whether
    `rule_hits` held all of the last run's hits.
    """
    con = db.con
    if as_of is not None or not (complete_before or scope.everyone):
        con.execute("DELETE FROM rule_hits")
        db.clear_meta(HITS_OF_RUN)
        db.clear_meta(HITS_OF_CODE)
        return
    columns = ", ".join(HIT_COLUMNS)
    stamped = f"SELECT {', '.join(f'h.{c}' for c in HIT_COLUMNS)}, e.flag_id FROM {{hits}} {_IN_EPISODE}"
    if scope.everyone:
        con.execute("DELETE FROM rule_hits")
        # in order, as contacts are built: no partly filled row groups for the next checkpoint to merge
        hits = stamped.format(hits="_hits h")
        con.execute(f"INSERT INTO rule_hits ({columns}, flag_id) {hits} ORDER BY h.window_start")
    else:  # the hits it measured again replace the stored ones (whole histories: all of them)
        con.execute(f"DELETE FROM rule_hits WHERE rowid IN (SELECT h.rowid FROM {scope.hits('rule_hits', 'h')})")
        con.execute(f"INSERT INTO rule_hits ({columns}, flag_id) {stamped.format(hits=scope.hits('_hits', 'h'))}")
    db.set_meta(HITS_OF_RUN, str(run_id))
    db.set_meta(HITS_OF_CODE, judge_code_hash())


# A hit with the episode (`_episodes`) it lies in. A flag's stored hits are taken again by that
# name. The hits a night measures again get their flag anew, and it measures every hit from a
# point in time on, so the hits that keep a name are always the earliest of the episode that gave
# it, unchanged since: they lie in one episode of all hits whatever came later, and reducing them
# to two rows (take_stored_hits) changes no flag.
_IN_EPISODE = """
LEFT JOIN _episodes e ON e.requester_key = h.requester_key AND e.rule_id = h.rule_id
                     AND e.group_key IS NOT DISTINCT FROM h.group_key
                     AND h.window_start BETWEEN e.first_at AND e.last_at
"""
