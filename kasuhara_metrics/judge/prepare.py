"""The judge's working tables: `_judged` (the contacts being judged), `_hits` and `_rules`.

Only requesters' contacts are judged: withheld, staff, outbound and unusable callers have none.
"""

from __future__ import annotations

from datetime import date

from ..common.db import Database
from ..common.sqltext import insert_values_sql
from ..rules import RULE_KINDS, SEVERITIES, Profile, Rule
from .scope import Scope

HIT_COLUMNS = ("rule_id", "requester_key", "group_key", "window_start", "window_end", "value", "severity", "threshold")
# What the store needs of each rule besides its id: texts are rendered by the rule's kind.
RULE_COLUMNS = (
    "rule_id",
    "rule_hash",
    "kind",
    "category",
    "behaviour",
    "unit",
    *(f"{severity}_text" for severity in SEVERITIES),
)


def prepare_judged(db: Database, profile: Profile, scope: Scope, as_of: date | None = None) -> None:
    """The temp table `_judged`: the contacts of the requesters in scope, with local_day, topic_key and closing_at."""
    site = profile.site
    hours, minutes = (int(part) for part in site.counter_closing.split(":"))
    db.con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _judged AS
        WITH located AS (
            SELECT c.*, CAST(timezone($tz, c.started_at) AS DATE) AS local_day,
                   nullif(lower(trim(regexp_replace(c.topic, '\\s+', ' ', 'g'))), '') AS topic_key
            FROM {scope.contacts("c")}
            WHERE c.requester_key IS NOT NULL
              AND ($as_of IS NULL OR c.started_at < timezone($tz, CAST(CAST($as_of AS DATE) + 1 AS TIMESTAMP)))
        )
        SELECT *, timezone($tz, CAST(local_day AS TIMESTAMP) + to_minutes($closing_minutes)) AS closing_at
        FROM located
        """,
        {
            "tz": site.timezone,
            "as_of": as_of,
            "closing_minutes": hours * 60 + minutes,
        },
    )


def prepare(db: Database, profile: Profile, scope: Scope, as_of: date | None) -> None:
    """`_judged`, an empty `_hits`, and `_rules` with one row per enabled rule."""
    con = db.con
    prepare_judged(db, profile, scope, as_of)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _hits (
            rule_id VARCHAR, requester_key VARCHAR, group_key VARCHAR, window_start TIMESTAMPTZ,
            window_end TIMESTAMPTZ, value DOUBLE, severity VARCHAR, threshold DOUBLE)
    """)
    # A plain table: registering an Arrow table would make DuckDB import pandas on every run.
    con.execute("CREATE OR REPLACE TEMP TABLE _rules (" + ", ".join(f"{c} VARCHAR" for c in RULE_COLUMNS) + ")")
    rows = [rule_row(rule) for rule in profile.enabled_rules]
    if rows:
        con.executemany(insert_values_sql("_rules", RULE_COLUMNS), rows)


def rule_row(rule: Rule) -> dict[str, str | None]:
    kind = RULE_KINDS[rule.kind]
    return {
        "rule_id": rule.id,
        "rule_hash": rule.content_hash,
        "kind": rule.kind,
        "category": rule.category,
        "behaviour": rule.behaviour,
        "unit": kind.unit,
        **{
            f"{severity}_text": kind.threshold_text(rule, severity) if severity in rule.tiers else None
            for severity in SEVERITIES
        },
    }
