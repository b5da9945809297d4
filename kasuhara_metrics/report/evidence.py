"""One requester's file for counsel: every contact with the ids to retrieve its recording or reception
record, the flags and the decisions on them, and the handling totals.

Pseudonym only. `reveal` puts the caller's number on the cover: the operator passes the number (the
database holds none), it must be the requester's under the site secret, and the reveal is recorded in
`reveals` (who, as which account, when, where to), never the number itself.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..common.db import Database
from ..common.duckutil import fetch_dicts
from ..common.errors import KasuharaError
from ..common.identity import classify_number
from ..desk.handling import handling_totals
from ..desk.preserve import leg_of_record_sql
from ..judge.explain import resolve_requester
from ..rules import Profile


@dataclass
class Reveal:
    number: str
    by: str


@dataclass
class EvidenceData:
    requester_key: str
    profile: Profile
    generated_at: datetime
    contacts: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    by_department: list[dict[str, Any]] = field(default_factory=list)
    reveal: Reveal | None = None


def evidence_data(db: Database, requester: str, profile: Profile, *, reveal_by: str | None = None) -> EvidenceData:
    """The requester's file. With `reveal_by`, `requester` must be their phone number (which needs
    the site secret): it goes on the cover, and the reveal is recorded once the file is written."""
    key = resolve_requester(db, requester, profile)
    reveal = None
    if reveal_by is not None:
        if not reveal_by.strip():
            raise KasuharaError("say who reveals the number: --by NAME")
        number = classify_number(requester, profile.site).external_number
        if number is None:
            raise KasuharaError(
                "--reveal needs the requester's phone number, not the pseudonym: the database holds no numbers"
            )
        reveal = Reveal(requester.strip(), reveal_by.strip())
    now = datetime.now(ZoneInfo(profile.site.timezone))
    data = EvidenceData(key, profile, now, reveal=reveal)
    data.contacts = _contacts(db, key)
    if not data.contacts:
        raise KasuharaError(f"no contacts for requester {key} - check the pseudonym with `kasuhara flags`")
    data.flags = fetch_dicts(
        db.con,
        """SELECT flag_id, rule_id, category, behaviour, severity, first_at, last_at, value, threshold, unit,
                  group_key, threshold_override, contacts, review_status
           FROM flags WHERE requester_key = ? ORDER BY first_at, flag_id""",
        [key],
    )
    data.reviews = fetch_dicts(
        db.con,
        """SELECT r.flag_id, r.status, r.reviewer, r.reviewed_at FROM reviews r
           WHERE r.requester_key = ? ORDER BY r.reviewed_at, r.review_id""",
        [key],
    )
    cost = profile.site.staff_hourly_cost
    data.totals = handling_totals(db, requester_key=key, hourly_cost=cost)[0]
    data.by_department = handling_totals(db, requester_key=key, hourly_cost=cost, by_department=True)
    return data


def record_reveal(db: Database, data: EvidenceData, written_to: Path) -> None:
    if data.reveal is None:
        return
    with db.transaction():
        db.con.execute(
            """INSERT INTO reveal_rows (reveal_id, requester_key, revealed_by, account, revealed_at, written_to)
               VALUES (nextval('reveal_id_seq'), ?, ?, ?, ?, ?)""",
            [data.requester_key, data.reveal.by, getpass.getuser(), datetime.now(UTC), str(written_to.resolve())],
        )


def _contacts(db: Database, key: str) -> list[dict[str, Any]]:
    """Each contact with its record ids: CDR uniqueids (a call's legs) and their linkedids, which name
    the recording on most PBXs, or the visit's id in the reception log; and the flags it is behind."""
    return fetch_dicts(
        db.con,
        f"""
        WITH mine AS (SELECT * FROM contacts WHERE requester_key = $key),
        ids AS (
            SELECT contact_id, started_at, ended_at, unnest(source_ids) AS source_id FROM mine WHERE channel = 'call'
        ),
        links AS (
            SELECT ids.contact_id, list(DISTINCT k.linkedid ORDER BY k.linkedid) FILTER (WHERE k.linkedid IS NOT NULL)
                       AS linkedids
            FROM ids JOIN calls k ON {leg_of_record_sql("k", "ids")}
            GROUP BY ids.contact_id
        ),
        behind AS (
            SELECT e.contact_id, list(DISTINCT e.flag_id ORDER BY e.flag_id) AS flag_ids
            FROM flag_evidence e JOIN flags f USING (flag_id) WHERE f.requester_key = $key GROUP BY e.contact_id
        )
        SELECT m.contact_id, m.channel, m.started_at, m.ended_at, m.talk_s, m.department, m.kind, m.outcome,
               m.source_ids, coalesce(l.linkedids, []) AS linkedids, coalesce(b.flag_ids, []) AS flag_ids
        FROM mine m LEFT JOIN links l USING (contact_id) LEFT JOIN behind b USING (contact_id)
        ORDER BY m.started_at, m.contact_id
    """,
        {"key": key},
    )
