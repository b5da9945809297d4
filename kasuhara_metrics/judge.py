"""Run a threshold profile over the contacts and store flags with their evidence.

For each enabled rule, its kind's SQL finds the hits: measurements (a call's talk time, redials in
24 hours, ...) that reach a tier. Hits of one requester, rule and group whose windows overlap are
one episode: a streak that keeps firing is one flag whose window grows. A flag's id comes from
(requester, rule, group, episode start), so the same data gives the same flags, and the flags of
one run replace those of the run before: `flags` never mixes profile versions, and `judge_runs`
records which profile made them. A flag is a lead for a person to review, never a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from . import contacts
from .db import Database
from .duckutil import drop_temp_tables
from .errors import KasuharaError
from .rules import RULE_KINDS, SEVERITIES, Profile, Rule

_SEVERITY_RANK = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES))


@dataclass
class RuleOutcome:
    rule_id: str
    contacts_evaluated: int = 0
    hits: int = 0
    flags: int = 0
    added: int = 0
    removed: int = 0


@dataclass
class JudgeReport:
    run_id: int | None
    profile: Profile
    as_of: date | None
    contacts_judged: int = 0
    flags: int = 0
    new: int = 0
    updated: int = 0
    gone: int = 0
    rules: list[RuleOutcome] = field(default_factory=list)
    dry_run: bool = False
    requesters: list[str] | None = None  # judged only these; None: everyone
    total_flags: int = 0  # current flags after the run, everyone's


def judge(db: Database, profile: Profile, *, as_of: date | None = None, dry_run: bool = False,
          requesters: list[str] | None = None) -> JudgeReport:
    """Judge every requester's contacts (started before the end of `as_of`, site time) with `profile`.

    A dry run computes the same flags and what would change, then leaves the database untouched;
    it works on a read-only database too (what-ifs in an analyst's notebook).

    `requesters` judges only those (the nightly run: the requesters whose contacts changed) and
    replaces only their flags. Everyone else's contacts did not change, so neither could their
    flags; the profile must be the one of the last run, or every flag is judged again.
    """
    if requesters is not None and not _same_profile_as_last_run(db, profile):
        requesters = None
    if db.read_only and not dry_run:
        raise KasuharaError("judge needs the database opened for writing (or --dry-run)")
    report = JudgeReport(None, profile, as_of, dry_run=dry_run, requesters=requesters)
    started = datetime.now(timezone.utc)
    try:
        if dry_run:
            if db.in_transaction:
                raise KasuharaError("a dry run cannot be part of a larger transaction")
            db.con.execute("BEGIN TRANSACTION")
            try:
                _evaluate(db, profile, as_of, report, requesters)
            finally:
                db.con.execute("ROLLBACK")
            return report
        with db.transaction():
            if contacts.are_stale(db):  # records stored since the last build (an ingest that failed half-way)
                contacts.refresh(db)
                requesters = report.requesters = None
            _evaluate(db, profile, as_of, report, requesters)
            report.run_id = db.con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0]
            _store(db, profile, report, started)
    finally:
        drop_temp_tables(db.con, "_judged", "_hits", "_episodes", "_rules")
    return report


def _evaluate(db: Database, profile: Profile, as_of: date | None, report: JudgeReport,
              requesters: list[str] | None) -> None:
    _prepare(db, profile, as_of, requesters)
    report.contacts_judged = db.con.execute("SELECT count(*) FROM _judged").fetchall()[0][0]
    for rule in profile.enabled_rules:
        report.rules.append(_find_hits(db, rule))
    _episodes(db)
    _compare_with_previous(db, report)


def _same_profile_as_last_run(db: Database, profile: Profile) -> bool:
    last = db.con.execute("SELECT profile_hash FROM judge_runs ORDER BY run_id DESC LIMIT 1").fetchall()
    return bool(last) and last[0][0] == profile.content_hash


def prepare_judged(db: Database, profile: Profile, as_of: date | None = None,
                   requesters: list[str] | None = None) -> None:
    """The temp table `_judged`: requesters' contacts, with local_day, topic_key and closing_at.

    Only requesters' contacts are judged: withheld, staff, outbound and unusable callers have none.
    """
    site = profile.site
    hours, minutes = (int(part) for part in site.counter_closing.split(":"))
    db.con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _judged AS
        WITH located AS (
            SELECT c.*, CAST(timezone($tz, c.started_at) AS DATE) AS local_day,
                   nullif(lower(trim(regexp_replace(c.topic, '\\s+', ' ', 'g'))), '') AS topic_key
            FROM contacts c
            WHERE c.requester_key IS NOT NULL
              AND ($everyone OR c.requester_key IN (SELECT unnest($requesters)))
              AND ($as_of IS NULL OR c.started_at < timezone($tz, CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)))
        )
        SELECT *, timezone($tz, CAST(local_day AS TIMESTAMP) + to_minutes($closing_minutes)) AS closing_at
        FROM located
        """,
        {"tz": site.timezone, "as_of": as_of, "closing_minutes": hours * 60 + minutes,
         "everyone": requesters is None, "requesters": list(requesters or [])},
    )


def _prepare(db: Database, profile: Profile, as_of: date | None, requesters: list[str] | None) -> None:
    con = db.con
    prepare_judged(db, profile, as_of, requesters)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _hits (
            rule_id VARCHAR, requester_key VARCHAR, group_key VARCHAR, window_start TIMESTAMPTZ,
            window_end TIMESTAMPTZ, value DOUBLE, severity VARCHAR, threshold DOUBLE)
    """)
    # A plain table: registering an Arrow table would make DuckDB import pandas on every run.
    con.execute("CREATE OR REPLACE TEMP TABLE _rules (" + ", ".join(f"{c} VARCHAR" for c in _RULE_COLUMNS) + ")")
    rows = [[_rule_row(rule)[c] for c in _RULE_COLUMNS] for rule in profile.enabled_rules]
    if rows:
        con.executemany(f"INSERT INTO _rules VALUES ({', '.join('?' for _ in _RULE_COLUMNS)})", rows)


_RULE_COLUMNS = ("rule_id", "rule_hash", "kind", "category", "behaviour", "unit", "watch_text", "alert_text")


def _rule_row(rule: Rule) -> dict:
    kind = RULE_KINDS[rule.kind]
    return {
        "rule_id": rule.id, "rule_hash": rule.content_hash, "kind": rule.kind, "category": rule.category,
        "behaviour": rule.behaviour, "unit": kind.unit,
        "watch_text": kind.threshold_text(rule, "watch") if "watch" in rule.tiers else None,
        "alert_text": kind.threshold_text(rule, "alert") if "alert" in rule.tiers else None,
    }


def _find_hits(db: Database, rule: Rule) -> RuleOutcome:
    kind = RULE_KINDS[rule.kind]
    sql, params = kind.hits_sql(rule)
    try:
        db.con.execute(
            f"INSERT INTO _hits SELECT $rule_id, requester_key, group_key, window_start, window_end, value, severity, threshold FROM ({sql})",
            {**params, "rule_id": rule.id},
        )
        where, filter_params = kind.contact_filter(rule)
        evaluated = db.con.execute(f"SELECT count(*) FROM _judged c WHERE {where}", filter_params).fetchall()[0][0]
        hits = db.con.execute("SELECT count(*) FROM _hits WHERE rule_id = ?", [rule.id]).fetchall()[0][0]
    except Exception as exc:
        exc.add_note(f"while judging rule {rule.id} (kind {rule.kind}) of {rule.source}")
        raise
    return RuleOutcome(rule.id, evaluated, hits)


def _episodes(db: Database) -> None:
    """Overlapping hits of one requester, rule and group are one episode: one flag."""
    con = db.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _episodes AS
        WITH ordered AS (
            SELECT *, CASE severity {_SEVERITY_RANK} END AS severity_rank,
                   max(window_end) OVER (PARTITION BY rule_id, requester_key, group_key ORDER BY window_start, window_end
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
            FROM _hits
        ), numbered AS (
            SELECT *, sum(CASE WHEN window_start <= previous_end THEN 0 ELSE 1 END)
                          OVER (PARTITION BY rule_id, requester_key, group_key ORDER BY window_start, window_end) AS episode
            FROM ordered
        )
        SELECT 'F' || substr(md5(concat_ws('|', requester_key, rule_id, coalesce(group_key, ''),
                                           CAST(epoch_ms(min(window_start)) AS VARCHAR))), 1, 16) AS flag_id,
               rule_id, requester_key, group_key, min(window_start) AS first_at, max(window_end) AS last_at,
               max(value) AS value, arg_max(severity, (severity_rank, value)) AS severity,
               arg_max(threshold, (severity_rank, value)) AS threshold, count(*) AS hits
        FROM numbered
        GROUP BY rule_id, requester_key, group_key, episode
    """)


def _collect_evidence(db: Database, profile: Profile) -> None:
    """Every contact of the episode's requester, inside its window, that the rule looks at."""
    for rule in profile.enabled_rules:
        kind = RULE_KINDS[rule.kind]
        where, params = kind.contact_filter(rule)
        group = kind.group_sql()
        same_group = f"AND {group} = e.group_key" if group else ""
        db.con.execute(
            f"""
            INSERT INTO flag_evidence_rows
            SELECT e.flag_id, c.contact_id, c.channel, c.started_at, c.ended_at, c.talk_s, c.department, c.source_ids
            FROM _episodes e JOIN _judged c
              ON c.requester_key = e.requester_key AND c.started_at >= e.first_at AND c.started_at <= e.last_at
            WHERE e.rule_id = $rule_id AND {where} {same_group}
            """,
            {**params, "rule_id": rule.id},
        )


def _compare_with_previous(db: Database, report: JudgeReport) -> None:
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
    gone = dict(db.con.execute("""
        SELECT f.rule_id, count(*) FROM flag_rows f ANTI JOIN _episodes e USING (flag_id)
        WHERE $everyone OR f.requester_key IN (SELECT unnest($requesters))
        GROUP BY f.rule_id
    """, {"everyone": report.requesters is None, "requesters": list(report.requesters or [])}).fetchall())
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


def _store(db: Database, profile: Profile, report: JudgeReport, started: datetime) -> None:
    con = db.con
    previous = con.execute("SELECT profile_hash FROM judge_runs ORDER BY run_id DESC LIMIT 1").fetchall()
    previous_hash = previous[0][0] if previous and previous[0][0] != profile.content_hash else None
    scope = {"everyone": report.requesters is None, "requesters": list(report.requesters or [])}
    con.execute("""
        DELETE FROM flag_evidence_rows WHERE $everyone OR flag_id IN
            (SELECT flag_id FROM flag_rows WHERE requester_key IN (SELECT unnest($requesters)))
    """, scope)
    con.execute("DELETE FROM flag_rows WHERE $everyone OR requester_key IN (SELECT unnest($requesters))", scope)
    _collect_evidence(db, profile)
    con.execute(
        """
        INSERT INTO flag_rows
        SELECT e.flag_id, $run_id, e.requester_key, e.rule_id, r.rule_hash, $profile_name, $profile_version,
               r.category, r.behaviour, e.severity, e.group_key, e.first_at, e.last_at, e.value, e.threshold, r.unit,
               CASE WHEN e.value = round(e.value) THEN CAST(CAST(e.value AS BIGINT) AS VARCHAR)
                    ELSE CAST(round(e.value, 1) AS VARCHAR) END || ' ' || r.unit
                   || CASE WHEN e.group_key IS NOT NULL THEN ' (' || e.group_key || ')' ELSE '' END
                   || '; ' || e.severity || ' is ' || CASE e.severity WHEN 'alert' THEN r.alert_text ELSE r.watch_text END,
               coalesce(v.contacts, 0), coalesce(v.evidence, [])
        FROM _episodes e JOIN _rules r USING (rule_id)
        LEFT JOIN (SELECT flag_id, count(*) AS contacts, flatten(list(source_ids ORDER BY started_at, contact_id)) AS evidence
                   FROM flag_evidence_rows SEMI JOIN _episodes USING (flag_id) GROUP BY flag_id) v USING (flag_id)
        ORDER BY e.first_at, e.flag_id
        """,
        {"run_id": report.run_id, "profile_name": profile.name, "profile_version": profile.version},
    )
    report.total_flags = con.execute("SELECT count(*) FROM flag_rows").fetchall()[0][0]
    con.execute(
        """INSERT INTO judge_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [report.run_id, started, datetime.now(timezone.utc), profile.path, profile.name, profile.version,
         profile.content_hash, previous_hash, report.as_of, report.contacts_judged, report.total_flags, report.new,
         report.updated, report.gone, None if report.requesters is None else len(report.requesters)],
    )
    for rule in profile.enabled_rules:
        outcome = next(o for o in report.rules if o.rule_id == rule.id)
        con.execute(
            "INSERT INTO rule_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [report.run_id, rule.id, rule.content_hash, rule.kind, outcome.contacts_evaluated, outcome.hits, outcome.flags],
        )
