"""Why a requester was (or was not) flagged: their timeline, the flags, and the near misses.

A near miss is the closest a rule came without firing ("2 of 3 redials on 2026-10-05"), the
question an analyst asks when a case seems to be missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..common.db import Database
from ..common.duckutil import drop_temp_tables, fetch_dicts
from ..common.errors import KasuharaError
from ..common.identity import classify_number, pseudonymizer_for
from ..common.sqltext import site_day_start_sql
from ..rules import RULE_KINDS, Profile, Rule
from ..rules.kinds import NearMissValues
from .prepare import prepare_judged
from .scope import create_scope
from .store import last_run


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
    contacts_total: int = 0
    """All the requester's contacts; `contacts` holds those shown (after `since` and `limit`)."""
    judged_by: str | None = None
    """The profile (name and version) of the run that made the flags."""
    override_notes: list[str] = field(default_factory=list)
    """For each flag judged by a department override's tiers: which, where, and why."""


def resolve_requester(db: Database, text: str, profile: Profile) -> str:
    """A pseudonym as given, or the pseudonym of a phone number (which needs the site secret)."""
    text = text.strip()
    if len(text) == 17 and text.startswith("R"):
        key = text
    else:
        identity = classify_number(text, profile.site)
        number = identity.external_number
        if number is None:
            raise KasuharaError(
                f"'{text}' is neither a requester pseudonym (R + 16 hex digits) nor a usable phone number "
                f"({identity.note}) - pass the pseudonym from `kasuhara flags`"
            )
        key = pseudonymizer_for(db, create=False).key(number)
    linked = db.con.execute("SELECT requester_key FROM requester_links WHERE alias_key = ?", [key]).fetchall()
    return linked[0][0] if linked else key


def explain(
    db: Database, requester: str, profile: Profile, *, since: date | None = None, limit: int | None = None
) -> Explanation:
    """The requester's flags, near misses and timeline. `since` keeps the contacts and flags that
    last until that day (site time) or later; `limit` the latest contacts of those, oldest first."""
    key = resolve_requester(db, requester, profile)
    result = Explanation(key)
    ((result.contacts_total,),) = db.con.execute(
        "SELECT count(*) FROM contacts WHERE requester_key = ?", [key]
    ).fetchall()
    if not result.contacts_total:
        raise KasuharaError(f"no contacts for requester {key} - check the pseudonym with `kasuhara flags`")
    params = {"key": key, "since": since, "limit": limit}
    result.contacts = fetch_dicts(
        db.con,
        f"""SELECT * FROM (
                SELECT contact_id, channel, started_at, ended_at, talk_s, answered, outcome, department, kind, topic,
                       source_ids FROM contacts
                WHERE requester_key = $key AND ({_SINCE.format(column="coalesce(ended_at, started_at)")})
                ORDER BY started_at DESC, contact_id DESC LIMIT coalesce($limit, 9223372036854775807)
            ) ORDER BY started_at, contact_id""",
        params,
    )
    result.flags = fetch_dicts(
        db.con,
        f"""SELECT flag_id, rule_id, behaviour, severity, first_at, last_at, detail, evidence, threshold_override
           FROM flags WHERE requester_key = $key AND ({_SINCE.format(column="last_at")}) ORDER BY first_at""",
        {"key": key, "since": since},
    )
    run = last_run(db)
    result.judged_by = f"{run.profile_name} {run.profile_version}" if run else None
    result.override_notes = [_override_note(flag, profile) for flag in result.flags if flag["threshold_override"]]
    # A rule that fired before `since` is no near miss.
    fired_rules = db.con.execute("SELECT DISTINCT rule_id FROM flags WHERE requester_key = ?", [key]).fetchall()
    fired = {row[0] for row in fired_rules}
    prepare_judged(db, profile, create_scope(db, profile, [key]))
    try:
        for rule in profile.enabled_rules:
            if rule.id not in fired and (miss := _near_miss(db, rule, profile.site.timezone)):
                result.near_misses.append(miss)
    finally:
        drop_temp_tables(db.con, "_judged", "_closed_days", "_scope")
    return result


def _override_note(flag: dict[str, Any], profile: Profile) -> str:
    note = f"{flag['flag_id']}: {flag['rule_id']} judged by its override {flag['threshold_override']}"
    rule = next((r for r in profile.rules if r.id == flag["rule_id"]), None)
    override = rule.override(flag["threshold_override"]) if rule else None
    if rule is None or override is None:  # the profile at hand is not the one that judged
        return note
    tiers = ", ".join(f"{s} {t:g}" for s, t in (override.tiers or {}).items())
    return f"{note} for {', '.join(override.departments)} ({tiers} {RULE_KINDS[rule.kind].unit}): {override.reason}"


_SINCE = "$since IS NULL OR {column} >= " + site_day_start_sql("since")


def _near_miss(db: Database, rule: Rule, timezone: str) -> NearMiss | None:
    kind = RULE_KINDS[rule.kind]
    sql, params = kind.near_miss_sql(rule)
    # Of equally close measurements, the latest: every run names the same one.
    rows = db.con.execute(
        f"""SELECT value, needed, CAST(timezone($tz_name, window_end) AS DATE), contacts, needed_severity, override_id
            FROM ({sql}) WHERE value > 0 ORDER BY closeness DESC, contacts DESC, window_end DESC LIMIT 1""",
        {**params, "tz_name": timezone},
    ).fetchall()
    if not rows:
        return None
    value, needed, day, contacts, severity, override_id = rows[0]
    near = NearMissValues(float(value), float(needed), day, contacts, severity, override_id)
    return NearMiss(
        rule.id,
        rule.behaviour,
        kind.near_miss_text(rule, near),
        near.value,
        near.needed,
        kind.near_miss_text(rule, near, "ja"),
    )
