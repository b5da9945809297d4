"""The judge's working tables: `_judged` (the contacts being judged), `_hits` and `_rules`.

Only requesters' contacts are judged: withheld, staff, outbound and unusable callers have none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ..common.calendar import closed_days
from ..common.db import Database
from ..common.sqltext import insert_values_sql
from ..rules import RULE_KINDS, SEVERITIES, Profile, Rule
from .scope import Scope

HIT_COLUMNS = (
    "rule_id",
    "requester_key",
    "group_key",
    "window_start",
    "window_end",
    "value",
    "severity",
    "threshold",
    "override_id",
)
# What the store needs of each rule besides its id: texts are rendered by the rule's kind. A rule
# with department overrides has a row for each of them too (override_id), with that override's texts.
RULE_COLUMNS = (
    "rule_id",
    "override_id",
    "rule_hash",
    "kind",
    "category",
    "behaviour",
    "unit",
    *(f"{severity}_text" for severity in SEVERITIES),
)


@dataclass(frozen=True)
class Clock:
    """How an engine's SQL moves between instants and the site's wall clock.

    DuckDB's `timezone()` goes either way depending on its argument's type, which a dialect
    translator cannot see; the judge therefore names the direction it means.
    """

    wall_clock: str  # the site's wall-clock TIMESTAMP of the instant {ts} in zone {tz}
    instant: str  # the instant of the wall-clock TIMESTAMP {ts} in zone {tz}


DUCKDB_CLOCK = Clock(wall_clock="timezone({tz}, {ts})", instant="timezone({tz}, {ts})")

# What folds a topic's runs of white space into one space, spelt out so that both engines fold the
# same characters: tabs and line breaks, and every Unicode space (Zs: the ideographic space U+3000
# that Japanese input puts in, no-break spaces), which DuckDB's trim() removes and Spark's does not.
# (\s differs too: Java's also matches a vertical tab.)
_WHITE_SPACE = "[\\t\\n\\f\\r\\p{Zs}]+"


def topic_key_sql(topic: str) -> str:
    """The topic as same_topic compares it: white space folded and trimmed, lower case, NULL if empty."""
    return f"nullif(lower(trim(regexp_replace({topic}, '{_WHITE_SPACE}', ' ', 'g'))), '')"


def judged_sql(
    profile: Profile,
    contacts: str,
    as_of: date | None = None,
    clock: Clock = DUCKDB_CLOCK,
    closed_days: str = "local_day IN (SELECT day FROM _closed_days)",
) -> tuple[str, dict[str, Any]]:
    """The SELECT of `_judged` from the FROM item `contacts` (named c): requesters' contacts with
    local_day, topic_key and closing_at, and `off_hours` when a rule needs the business calendar
    (`closed_days`: SQL true on the site's closed days)."""
    site = profile.site
    hours, minutes = (int(part) for part in site.counter_closing.split(":"))
    params: dict[str, Any] = {"tz": site.timezone, "as_of": as_of, "closing_minutes": hours * 60 + minutes}
    wall_clock = clock.wall_clock.format(tz="$tz", ts="c.started_at")
    off_hours = ""
    if needs_calendar(profile):
        opens, closes = site.business_minutes
        params.update(opens_s=opens * 60, closes_s=closes * 60)
        # the start's wall-clock second of its site-local day, against the opening hours
        second_of_day = (
            f"(epoch({clock.wall_clock.format(tz='$tz', ts='started_at')}) - epoch(CAST(local_day AS TIMESTAMP)))"
        )
        off_hours = f""", {closed_days}
            OR NOT ({second_of_day} >= $opens_s AND {second_of_day} < $closes_s) AS off_hours"""
    day_after_as_of = clock.instant.format(tz="$tz", ts="CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)")
    closing_at = clock.instant.format(tz="$tz", ts="CAST(local_day AS TIMESTAMP) + to_minutes($closing_minutes)")
    sql = f"""
        WITH located AS (
            SELECT c.*, CAST({wall_clock} AS DATE) AS local_day,
                   {topic_key_sql("c.topic")} AS topic_key
            FROM {contacts}
            WHERE c.requester_key IS NOT NULL AND ($as_of IS NULL OR c.started_at < {day_after_as_of})
        )
        SELECT *, {closing_at} AS closing_at {off_hours}
        FROM located
    """
    return sql, params


def needs_calendar(profile: Profile) -> bool:
    """Whether a rule reads `_judged.off_hours`, for which the judge needs `_closed_days`."""
    return any(RULE_KINDS[rule.kind].needs_calendar for rule in profile.enabled_rules)


def prepare_judged(db: Database, profile: Profile, scope: Scope, as_of: date | None = None) -> None:
    """The temp table `_judged` (see `judged_sql`) of the requesters in scope, and `_closed_days`."""
    if needs_calendar(profile):
        _closed_days(db, profile, scope)
    sql, params = judged_sql(profile, scope.contacts("c"), as_of)
    db.con.execute(f"CREATE OR REPLACE TEMP TABLE _judged AS {sql}", params)


def _closed_days(db: Database, profile: Profile, scope: Scope) -> None:
    """The temp table `_closed_days` (day, reason) over the days of the contacts in scope."""
    db.con.execute("CREATE OR REPLACE TEMP TABLE _closed_days (day DATE, reason VARCHAR)")
    ((first, last),) = db.con.execute(
        f"""SELECT CAST(timezone($tz, min(c.started_at)) AS DATE), CAST(timezone($tz, max(c.started_at)) AS DATE)
            FROM {scope.contacts("c")} WHERE c.requester_key IS NOT NULL""",
        {"tz": profile.site.timezone},
    ).fetchall()
    if first is not None:
        days = closed_days(profile.site, first, last)
        if days:
            db.con.executemany("INSERT INTO _closed_days VALUES (?, ?)", days)


def prepare(db: Database, profile: Profile, scope: Scope, as_of: date | None) -> None:
    """`_judged`, an empty `_hits`, and `_rules` with a row per enabled rule and override."""
    con = db.con
    prepare_judged(db, profile, scope, as_of)
    create_hits_table(db)
    # A plain table: registering an Arrow table would make DuckDB import pandas on every run.
    con.execute("CREATE OR REPLACE TEMP TABLE _rules (" + ", ".join(f"{c} VARCHAR" for c in RULE_COLUMNS) + ")")
    rows = [row for rule in profile.enabled_rules for row in rule_rows(rule)]
    if rows:
        con.executemany(insert_values_sql("_rules", RULE_COLUMNS), rows)


def create_hits_table(db: Database) -> None:
    """An empty temp table `_hits` (HIT_COLUMNS), as the stored `rule_hits` are."""
    db.con.execute("""
        CREATE OR REPLACE TEMP TABLE _hits (
            rule_id VARCHAR, requester_key VARCHAR, group_key VARCHAR, window_start TIMESTAMPTZ,
            window_end TIMESTAMPTZ, value DOUBLE, severity VARCHAR, threshold DOUBLE,
            override_id VARCHAR)
    """)


def rule_rows(rule: Rule) -> list[dict[str, str | None]]:
    """The rule's row, and one for each override that gives it other tiers."""
    rows = [_rule_row(rule, rule, None)]
    for override in rule.tier_overrides:
        rows.append(_rule_row(rule, replace(rule, tiers=override.tiers or {}), override.id))
    return rows


def _rule_row(rule: Rule, tiered: Rule, override_id: str | None) -> dict[str, str | None]:
    """`rule`'s row with the threshold texts of `tiered` (the rule under an override's tiers)."""
    kind = RULE_KINDS[rule.kind]
    return {
        "rule_id": rule.id,
        "override_id": override_id,
        "rule_hash": rule.content_hash,
        "kind": rule.kind,
        "category": rule.category,
        "behaviour": rule.behaviour,
        "unit": kind.unit,
        **{
            f"{severity}_text": kind.threshold_text(tiered, severity) if severity in tiered.tiers else None
            for severity in SEVERITIES
        },
    }
