"""Episodes: overlapping hits of one requester, rule and group are one flag, compared with the last run's."""

from __future__ import annotations

from ..common.db import Database
from ..common.levels import severity_rank_sql
from .outcome import JudgeReport, RuleOutcome
from .scope import Scope

# Which hit of an episode is its worst: of worst hits alike, the highest tier and then the
# override's name decide, so runs agree.
WORST_HIT_ORDER = "(severity_rank, value, threshold, coalesce(override_id, ''))"

# One row per flag from the hits of `_hits`, its id from (requester, rule, group, episode start).
# A streak that keeps firing is one flag whose window grows; its severity and threshold are those
# of its worst hit, so the same data always gives the same flags.
EPISODES_SQL = f"""
WITH ordered AS (
    SELECT *, {severity_rank_sql("severity")} AS severity_rank,
           max(window_end) OVER (PARTITION BY rule_id, requester_key, group_key
                                 ORDER BY window_start, window_end
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM _hits
), numbered AS (
    SELECT *, sum(CASE WHEN window_start <= previous_end THEN 0 ELSE 1 END)
                  OVER (PARTITION BY rule_id, requester_key, group_key
                        ORDER BY window_start, window_end) AS episode
    FROM ordered
)
SELECT 'F' || substr(md5(concat_ws('|', requester_key, rule_id, coalesce(group_key, ''),
                                   CAST(epoch_ms(min(window_start)) AS VARCHAR))), 1, 16) AS flag_id,
       rule_id, requester_key, group_key, min(window_start) AS first_at, max(window_end) AS last_at,
       max(value) AS value, arg_max(severity, (severity_rank, value)) AS severity,
       arg_max(threshold, {WORST_HIT_ORDER}) AS threshold,
       arg_max_null(override_id, {WORST_HIT_ORDER}) AS override_id,
       min(window_start) AS evidence_from  -- where its evidence still has to be collected
FROM numbered
GROUP BY rule_id, requester_key, group_key, episode
"""


def find_episodes(db: Database) -> None:
    """The temp table `_episodes`: one row per flag (EPISODES_SQL)."""
    db.con.execute(f"CREATE OR REPLACE TEMP TABLE _episodes AS {EPISODES_SQL}")


def compare_with_previous(db: Database, report: JudgeReport, scope: Scope) -> None:
    """Count, per rule, the flags that are new, updated or gone since the stored ones."""
    # A flag someone dismissed is not new again unless its episode grew since.
    counts = db.con.execute("""
        WITH dismissed AS (
            SELECT flag_id, flag_last_at FROM review_rows
            QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) = 1 AND status = 'dismissed'
        )
        SELECT e.rule_id,
               count(*) FILTER (WHERE f.flag_id IS NULL AND (d.flag_id IS NULL OR e.last_at > d.flag_last_at)) AS added,
               count(*) FILTER (WHERE f.flag_id IS NOT NULL AND (f.last_at <> e.last_at OR f.severity <> e.severity
                                                                 OR f.value <> e.value)) AS updated,
               count(*) AS flags
        FROM _episodes e LEFT JOIN flag_rows f USING (flag_id) LEFT JOIN dismissed d USING (flag_id)
        GROUP BY e.rule_id
    """).fetchall()
    gone = dict(
        db.con.execute(f"""
        SELECT f.rule_id, count(*) FROM {scope.stored_flags("f")} ANTI JOIN _episodes e ON e.flag_id = f.flag_id
        GROUP BY f.rule_id
    """).fetchall()
    )
    by_rule = {outcome.rule_id: outcome for outcome in report.rules}
    for rule_id, added, updated, flags in counts:
        outcome = by_rule.setdefault(rule_id, RuleOutcome(rule_id))
        outcome.flags, outcome.added = flags, added
        report.new += added
        report.updated += updated
        report.flags += flags
    for rule_id, removed in gone.items():
        by_rule.setdefault(rule_id, RuleOutcome(rule_id)).removed = removed
        report.gone += removed
    report.rules = list(by_rule.values())
