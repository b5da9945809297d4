"""Store a run: the flags replace those of the requesters judged, with evidence, the run and each rule's health.

Every insert names its columns, so a migration that adds one cannot shift values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..common.db import Database
from ..common.levels import SEVERITIES
from ..common.sqltext import insert_values_sql, sql_string
from ..rules import RULE_KINDS, Profile, Rule
from .outcome import JudgeReport
from .scope import Scope

# The flag's value as its detail shows it: whole numbers without ".0", others to one decimal, half
# up. Written from whole tenths with integer arithmetic only, so every engine writes the same text
# (Spark rounds and prints doubles otherwise than DuckDB: 34.65 minutes, 1.0E7).
_TENTHS = "CAST(round(e.value * 10) AS BIGINT)"
_VALUE_TEXT = (
    f"CAST({_TENTHS} // 10 AS VARCHAR) "
    f"|| CASE WHEN {_TENTHS} % 10 <> 0 THEN '.' || CAST({_TENTHS} % 10 AS VARCHAR) ELSE '' END"
)
_THRESHOLD_TEXT = "CASE e.severity " + " ".join(f"WHEN {sql_string(s)} THEN r.{s}_text" for s in SEVERITIES) + " END"
# A flag's contacts: its evidence rows (an increment's: those it kept and those it just collected).
# Its evidence list is not stored with it: the `flags` view reads it from the rows (schema.py).
_CONTACT_COUNTS = """
SELECT flag_id, count(*) AS contacts FROM flag_evidence_rows SEMI JOIN _episodes USING (flag_id) GROUP BY flag_id
"""
# The list as the view makes it, for an engine that writes its flags elsewhere (Spark).
EVIDENCE_LISTS_SQL = """
SELECT flag_id, flatten(list(source_ids ORDER BY started_at, contact_id)) AS evidence
FROM flag_evidence_rows GROUP BY flag_id
"""


# The flag rows of `_episodes`, with the texts of `_rules` and their numbers of contacts.
FLAG_ROWS_SQL = f"""
SELECT e.flag_id, $run_id AS run_id, e.requester_key, e.rule_id, r.rule_hash,
       $profile_name AS profile_name, $profile_version AS profile_version,
       r.category, r.behaviour, e.severity, e.group_key, e.first_at, e.last_at, e.value, e.threshold, r.unit,
       {_VALUE_TEXT} || ' ' || r.unit
           || CASE WHEN e.group_key IS NOT NULL THEN ' (' || e.group_key || ')' ELSE '' END
           || '; ' || e.severity || ' is ' || {_THRESHOLD_TEXT}
           || CASE WHEN e.override_id IS NOT NULL THEN ' (override ' || e.override_id || ')' ELSE '' END
           AS detail, e.override_id AS threshold_override, coalesce(v.contacts, 0) AS contacts
FROM _episodes e JOIN _rules r ON r.rule_id = e.rule_id AND r.override_id IS NOT DISTINCT FROM e.override_id
LEFT JOIN ({_CONTACT_COUNTS}) v USING (flag_id)
ORDER BY e.first_at, e.flag_id
"""


@dataclass(frozen=True)
class LastRun:
    """The judge run that made the stored flags."""

    run_id: int
    finished_at: datetime
    profile_name: str
    profile_version: str
    profile_hash: str
    profile_path: str


def last_run(db: Database) -> LastRun | None:
    """The latest judge run, or None before the first."""
    rows = db.con.execute(
        "SELECT run_id, finished_at, profile_name, profile_version, profile_hash, profile_path FROM judge_runs "
        "ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return LastRun(*rows[0]) if rows else None


def last_profile_hash(db: Database) -> str | None:
    """The content hash of the profile that made the stored flags, or None before the first run."""
    run = last_run(db)
    return run.profile_hash if run else None


def store(db: Database, profile: Profile, report: JudgeReport, scope: Scope, started: datetime) -> None:
    con = db.con
    last_hash = last_profile_hash(db)
    previous_hash = last_hash if last_hash != profile.content_hash else None
    if scope.everyone:
        con.execute("DELETE FROM flag_evidence_rows")
        con.execute("DELETE FROM flag_rows")
    else:
        _replace_changed_flags(db, scope)
    collect_evidence(db, profile)
    con.execute(
        f"INSERT INTO flag_rows BY NAME {FLAG_ROWS_SQL}",
        {"run_id": report.run_id, "profile_name": profile.name, "profile_version": profile.version},
    )
    report.total_flags = con.execute("SELECT count(*) FROM flag_rows").fetchall()[0][0]
    run = {
        "run_id": report.run_id,
        "started_at": started,
        "finished_at": datetime.now(UTC),
        "profile_path": profile.path,
        "profile_name": profile.name,
        "profile_version": profile.version,
        "profile_hash": profile.content_hash,
        "previous_hash": previous_hash,
        "as_of": report.as_of,
        "contacts_judged": report.contacts_judged,
        "flags": report.total_flags,
        "flags_new": report.new,
        "flags_updated": report.updated,
        "flags_gone": report.gone,
        "requesters_judged": None if report.requesters is None else len(report.requesters),
    }
    con.execute(insert_values_sql("judge_runs", run), run)
    for rule in profile.enabled_rules:
        outcome = next(o for o in report.rules if o.rule_id == rule.id)
        con.execute(
            """INSERT INTO rule_runs (run_id, rule_id, rule_hash, kind, contacts_evaluated, hits, flags)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [
                report.run_id,
                rule.id,
                rule.content_hash,
                rule.kind,
                outcome.contacts_evaluated,
                outcome.hits,
                outcome.flags,
            ],
        )


def _replace_changed_flags(db: Database, scope: Scope) -> None:
    """Delete the stored flags that changed (`_replaced`: store() inserts their new rows) and the
    evidence that no longer holds.

    A flag that ends before the earliest changed contact and comes out as stored keeps its row,
    its evidence and the run that made it; it leaves `_episodes`. A flag that goes on under the
    same id (same requester, rule, group and start) keeps the evidence rows of contacts before
    the earliest change: those contacts did not change. An increment writes what changed only.
    """
    con = db.con
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _unchanged AS
        SELECT e.flag_id FROM _episodes e
        JOIN _scope s ON s.requester_key = e.requester_key AND e.last_at < s.changed_from
        JOIN flag_rows f ON f.flag_id = e.flag_id AND f.rule_id = e.rule_id AND f.requester_key = e.requester_key
             AND f.group_key IS NOT DISTINCT FROM e.group_key AND f.first_at = e.first_at AND f.last_at = e.last_at
             AND f.value = e.value AND f.severity = e.severity AND f.threshold = e.threshold
    """)
    con.execute("DELETE FROM _episodes WHERE flag_id IN (SELECT flag_id FROM _unchanged)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _replaced AS
        SELECT f.flag_id, f.rowid AS stored_row FROM {scope.stored_flags("f")}
        ANTI JOIN _unchanged u ON u.flag_id = f.flag_id
    """)
    # A flag that goes on keeps the evidence of contacts before `cut`: before the change, and
    # within its stored end (later ones are new to it even when unchanged).
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _continuing AS
        SELECT e.flag_id, e.last_at, least(s.changed_from, f.last_at) AS cut FROM _episodes e
        JOIN flag_rows f ON f.flag_id = e.flag_id
        JOIN _scope s ON s.requester_key = e.requester_key
        SEMI JOIN _replaced r ON r.flag_id = e.flag_id
    """)
    con.execute("""
        DELETE FROM flag_evidence_rows WHERE rowid IN (
            SELECT v.rowid FROM flag_evidence_rows v SEMI JOIN _replaced r ON r.flag_id = v.flag_id
            LEFT JOIN _continuing c ON c.flag_id = v.flag_id
            WHERE c.flag_id IS NULL OR v.started_at >= c.cut OR v.started_at > c.last_at
        )
    """)
    con.execute("""
        UPDATE _episodes SET evidence_from = greatest(_episodes.evidence_from, c.cut)
        FROM _continuing c WHERE c.flag_id = _episodes.flag_id
    """)
    con.execute("DELETE FROM flag_rows WHERE rowid IN (SELECT stored_row FROM _replaced)")


def collect_evidence(db: Database, profile: Profile) -> None:
    """Every contact of the episode's requester, inside its window, that the rule looks at.

    From `evidence_from` on: before it, a flag that goes on kept its evidence rows.
    """
    sql, params = evidence_sql(profile.enabled_rules)
    db.con.execute(f"INSERT INTO flag_evidence_rows ({', '.join(EVIDENCE_COLUMNS)}) {sql}", params)


EVIDENCE_COLUMNS = ("flag_id", "contact_id", "channel", "started_at", "ended_at", "talk_s", "department", "source_ids")


def evidence_sql(rules: Sequence[Rule]) -> tuple[str, dict[str, Any]]:
    """The evidence rows (EVIDENCE_COLUMNS) of the flags in `_episodes`, from `_judged`: in one join,
    each episode keeps the contacts of its window that its rule looks at, in its group if it has one."""
    whens, params = [], {}
    for number, rule in enumerate(rules):
        kind = RULE_KINDS[rule.kind]
        where, own = kind.looked_at(rule)
        group = kind.group_sql()
        if group:
            where = f"{where} AND {group} = e.group_key"
        # each rule's parameters under names of its own: the rules share one statement
        where = re.sub(r"\$(\w+)", rf"$r{number}_\1", where)
        params.update({f"r{number}_{name}": value for name, value in own.items()})
        params[f"rule_{number}"] = rule.id  # never an r{number}_ name: those are the rule's own
        whens.append(f"WHEN $rule_{number} THEN {where}")
    columns = ", ".join(f"c.{column}" for column in EVIDENCE_COLUMNS[1:])
    sql = f"""
        SELECT e.flag_id, {columns}
        FROM _episodes e JOIN _judged c
          ON c.requester_key = e.requester_key AND c.started_at >= e.evidence_from AND c.started_at <= e.last_at
        WHERE {f"CASE e.rule_id {' '.join(whens)} ELSE FALSE END" if whens else "FALSE"}
    """
    return sql, params
