"""Why a requester was (or was not) flagged: their timeline, the flags, and the near misses.

A near miss is the closest a rule came without firing ("2 of 3 redials on 2026-10-05"), the
question an analyst asks when a case seems to be missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..common.db import Database
from ..common.duckutil import drop_temp_tables
from ..common.errors import KasuharaError
from ..common.identity import classify_number, pseudonymizer_for
from .prepare import prepare_judged
from ..rules import RULE_KINDS, Profile, Rule
from ..rules.kinds import NearMissValues


@dataclass
class NearMiss:
    rule_id: str
    behaviour: str
    text: str
    value: float
    needed: float
    text_ja: str = ""


@dataclass
class Explanation:
    requester_key: str
    contacts: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)


def resolve_requester(db: Database, text: str, profile: Profile) -> str:
    """A pseudonym as given, or the pseudonym of a phone number (which needs the site secret)."""
    text = text.strip()
    if len(text) == 17 and text.startswith("R"):
        key = text
    else:
        identity = classify_number(text, profile.site)
        if identity.caller_class != "external":
            raise KasuharaError(
                f"'{text}' is neither a requester pseudonym (R + 16 hex digits) nor a usable phone number "
                f"({identity.note}) - pass the pseudonym from `kasuhara flags`"
            )
        key = pseudonymizer_for(db, create=False).key(identity.canonical)
    linked = db.con.execute("SELECT requester_key FROM requester_links WHERE alias_key = ?", [key]).fetchall()
    return linked[0][0] if linked else key


def explain(db: Database, requester: str, profile: Profile) -> Explanation:
    key = resolve_requester(db, requester, profile)
    result = Explanation(key)
    cursor = db.con.execute(
        """SELECT contact_id, channel, started_at, ended_at, talk_s, answered, outcome, department, kind, topic,
                  source_ids FROM contacts WHERE requester_key = ? ORDER BY started_at""",
        [key],
    )
    columns = [d[0] for d in cursor.description]
    result.contacts = [dict(zip(columns, row)) for row in cursor.fetchall()]
    if not result.contacts:
        raise KasuharaError(f"no contacts for requester {key} - check the pseudonym with `kasuhara flags`")
    cursor = db.con.execute(
        """SELECT flag_id, rule_id, behaviour, severity, first_at, last_at, detail, evidence
           FROM flags WHERE requester_key = ? ORDER BY first_at""",
        [key],
    )
    columns = [d[0] for d in cursor.description]
    result.flags = [dict(zip(columns, row)) for row in cursor.fetchall()]
    fired = {f["rule_id"] for f in result.flags}
    prepare_judged(db, profile, requesters=[key])
    try:
        for rule in profile.enabled_rules:
            if rule.id not in fired and (miss := _near_miss(db, rule, profile.site.timezone)):
                result.near_misses.append(miss)
    finally:
        drop_temp_tables(db.con, "_judged")
    return result


def _near_miss(db: Database, rule: Rule, timezone: str) -> NearMiss | None:
    kind = RULE_KINDS[rule.kind]
    sql, params = kind.near_miss_sql(rule)
    rows = db.con.execute(
        f"""SELECT value, needed, CAST(timezone($tz_name, window_end) AS DATE), contacts
            FROM ({sql}) WHERE value > 0 ORDER BY closeness DESC, contacts DESC LIMIT 1""",
        {**params, "tz_name": timezone},
    ).fetchall()
    if not rows:
        return None
    value, needed, day, contacts = rows[0]
    near = NearMissValues(float(value), float(needed), day, contacts)
    return NearMiss(rule.id, rule.behaviour, kind.near_miss_text(rule, near), near.value, near.needed,
                    kind.near_miss_text(rule, near, "ja"))


def list_flags(db: Database, *, since=None, category=None, severity=None, rule_id=None, needs_review=False, week=None):
    """Flags of the latest judge run, newest last, filtered as asked, with their review status.

    `week` (a report.weeks.Week) keeps the flags whose episode overlaps it, as the weekly report does.
    """
    conditions, params = ["TRUE"], []
    if week is not None:
        conditions.append("first_at < ? AND last_at >= ?")
        params += [week.end, week.start]
    if needs_review:
        conditions.append("needs_review")
    if since is not None:
        conditions.append("last_at >= timezone(current_setting('TimeZone'), CAST(? AS TIMESTAMP))")
        params.append(since)
    for column, value in (("category", category), ("severity", severity), ("rule_id", rule_id)):
        if value:
            conditions.append(f"{column} = ?")
            params.append(value)
    cursor = db.con.execute(
        f"""SELECT flag_id, requester_key AS requester, category, behaviour, rule_id, severity, first_at, last_at,
                   round(value, 1) AS value, threshold, unit, group_key, detail, evidence, review_status, needs_review
            FROM flags WHERE {' AND '.join(conditions)} ORDER BY first_at, flag_id""",
        params,
    )
    return [d[0] for d in cursor.description], cursor.fetchall()
