"""Review decisions on flags: confirmed, dismissed or watching, by whom, and why.

Reviews are stored apart from flags and keyed by flag_id, which stays the same while an episode
grows, so a decision survives every re-run and re-judging. A note (free text that may name
people) is kept in the vault; the review points at it. A dismissed flag is not new again
unless its episode grows or gets worse (see the `flags` view's needs_review).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.errors import KasuharaError

STATUSES = ("confirmed", "dismissed", "watching")
# As managers read and write them (the report, the workbook's 確認結果 column).
STATUS_LABELS = {"unreviewed": "未確認", "confirmed": "確認済み", "watching": "経過観察", "dismissed": "該当なし"}


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
    note_id = None
    if note and note.strip():  # free text that may name people: in the vault, before the review that points at it
        note_id = "N" + uuid.uuid4().hex
        db.vault().put(
            "review_notes", pa.table({"note_id": arrays.strings([note_id]), "note": arrays.strings([note.strip()])})
        )
    with db.transaction():
        review_id = db.con.execute("SELECT nextval('review_id_seq')").fetchall()[0][0]
        db.con.execute(
            """INSERT INTO review_rows (review_id, flag_id, status, note_id, reviewer, reviewed_at, flag_last_at,
                                        flag_severity, requester_key, rule_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                review_id,
                flag_id,
                status,
                note_id,
                reviewer.strip(),
                datetime.now(UTC),
                last_at,
                severity,
                requester,
                rule_id,
            ],
        )
    return review_id
