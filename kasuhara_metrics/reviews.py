"""Review decisions on flags: confirmed, dismissed or watching, by whom, and why.

Reviews are stored apart from flags and keyed by flag_id, which stays the same while an episode
grows, so a decision survives every re-run and re-judging. A dismissed flag is not new again
unless its episode grows or gets worse (see the `flags` view's needs_review).
"""

from __future__ import annotations

from datetime import datetime, timezone

from .db import Database
from .errors import KasuharaError

STATUSES = ("confirmed", "dismissed", "watching")


def add_review(db: Database, flag_id: str, status: str, reviewer: str, note: str | None = None) -> int:
    """Record a decision on a current flag; returns the review id."""
    if status not in STATUSES:
        raise KasuharaError(f"status must be one of {', '.join(STATUSES)}, not '{status}'")
    if not reviewer.strip():
        raise KasuharaError("say who reviewed: --by NAME")
    found = db.con.execute(
        "SELECT last_at, severity, requester_key, rule_id FROM flag_rows WHERE flag_id = ?", [flag_id]
    ).fetchall()
    if not found:
        raise KasuharaError(f"no current flag {flag_id} - list them with `kasuhara flags`")
    last_at, severity, requester, rule_id = found[0]
    with db.transaction():
        review_id = db.con.execute("SELECT nextval('review_id_seq')").fetchall()[0][0]
        db.con.execute(
            "INSERT INTO review_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [review_id, flag_id, status, note or None, reviewer.strip(), datetime.now(timezone.utc), last_at,
             severity, requester, rule_id],
        )
    return review_id
