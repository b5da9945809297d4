"""What a run judges: everyone's history, some requesters' whole history, or the part a change can reach.

The nightly run knows, per requester whose contacts changed, the start of the earliest changed
contact. A measurement (a sliding window, a local day, a redial and the call before it) looks back
at most a rule's `lookback` plus a local day from the contact it is anchored on, so what a change
can alter starts no earlier than `changed_from - reach`. The temp table `_scope` holds, per
requester:

- `measure_from`: `reach` before `changed_from`, and back to the start of any contact still going
  on then. Hits whose window starts at or after it are measured again; earlier hits cannot have
  changed and are read from the last run's (`rule_hits`, hits.py).
- `keep_from`: stored flags that start before it stay as they are; flags from it on are made
  again from their hits. It is `measure_from` lowered over stored flags that reach into it, so an
  episode is never cut in two: a streak that has run all year takes its year of stored hits, not
  a year of contacts measured again.
- `judge_from`: the contacts judged start here, `reach` before `measure_from` and back to the
  start of any contact still going on then: every measurement whose window starts at or after
  `measure_from` sees all its contacts, so the flags are those of a run over the whole history.
- `changed_from`: the earliest changed contact. A flag that ends before it, and comes out as it
  was stored, keeps its stored row and evidence: nothing it shows has changed.

Everyone (no `_scope`) and a list of requesters (their whole history) are the two other scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.duckutil import ArrowScope, extend_back_over
from ..contacts import ChangedFrom
from ..rules import RULE_KINDS, Profile

# A site-local day lasts at most 25 hours (a daylight-saving change); day-based measurements
# (count_window per day, daily_total) reach that far back from any of their contacts.
DAY_SLACK = timedelta(hours=26)


def reach(profile: Profile) -> timedelta:
    """How far before a changed contact the profile's measurements can start."""
    lookbacks = [RULE_KINDS[rule.kind].lookback(rule) for rule in profile.enabled_rules]
    return max(lookbacks, default=timedelta(0)) + DAY_SLACK


@dataclass(frozen=True)
class Scope:
    """The requesters a run judges (None: everyone), bounded in time by `_scope`."""

    requesters: list[str] | None
    incremental: bool = False  # bounded by the changes (`_scope`), with the last run's hits before them

    @property
    def everyone(self) -> bool:
        return self.requesters is None

    def contacts(self, alias: str) -> str:
        """The stored contacts this run judges, as a FROM item named `alias`."""
        return self._within(f"contacts {alias}", alias, "started_at", "judge_from")

    def hits(self, relation: str, alias: str) -> str:
        """The hits of `relation` this run keeps: their windows start where hits are measured again."""
        return self._within(f"{relation} {alias}", alias, "window_start", "measure_from")

    def stored_hits(self, alias: str) -> str:
        """The stored hits (`rule_hits`) an incremental run takes as they are: those of the flags it
        judges again, from before where it measures."""
        assert self.incremental, "only an increment takes stored hits; other runs measure every hit"
        return (
            f"rule_hits {alias} SEMI JOIN _scope ON _scope.requester_key = {alias}.requester_key "
            f"AND {alias}.window_start >= _scope.keep_from AND {alias}.window_start < _scope.measure_from"
        )

    def stored_flags(self, alias: str) -> str:
        """The stored flags this run replaces, as a FROM item named `alias`."""
        return self._within(f"flag_rows {alias}", alias, "first_at", "keep_from")

    def _within(self, relation: str, alias: str, column: str, bound: str) -> str:
        if self.everyone:
            return relation
        # A semi join, not EXISTS: DuckDB runs it ten times faster over a year of contacts.
        return (
            f"{relation} SEMI JOIN _scope ON _scope.requester_key = {alias}.requester_key "
            f"AND {alias}.{column} >= _scope.{bound}"
        )


def create_scope(
    db: Database, profile: Profile, requesters: list[str] | None, changed_from: Mapping[str, datetime] | None = None
) -> Scope:
    """Write `_scope` for the requesters (their whole history), or for the changes (what they can reach)."""
    if changed_from is not None:
        requesters = sorted(changed_from)
    if requesters is None:
        return Scope(None)
    con = db.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope (requester_key VARCHAR, changed_from TIMESTAMPTZ, "
        "measure_from TIMESTAMPTZ, keep_from TIMESTAMPTZ, judge_from TIMESTAMPTZ)"
    )
    if requesters:  # without a change's time, the whole history
        # As Arrow: a night's 30,000 keys and times as list parameters took 0.1 s to convert.
        if isinstance(changed_from, ChangedFrom):  # a contacts refresh's, as DuckDB gave it
            changes = changed_from.table
        else:
            starts = [changed_from[key] for key in requesters] if changed_from is not None else [None] * len(requesters)
            changes = pa.table({"requester_key": arrays.strings(requesters), "changed_from": arrays.times(starts)})
        ArrowScope(con, {"_changes": changes}).execute("""
            INSERT INTO _scope
            SELECT requester_key, changed_from, changed_from, changed_from, changed_from
            FROM (SELECT requester_key, coalesce(changed_from, '-infinity') AS changed_from FROM _changes)
        """)
    if changed_from is None:
        return Scope(requesters)
    span = reach(profile)
    # What a change can alter starts `reach` before it, or where the call before a redial started.
    _back_over_contacts(db, "measure_from", "changed_from", span)
    con.execute("UPDATE _scope SET keep_from = measure_from")
    # A stored flag that reaches keep_from is judged again whole: its first hit may start long before.
    flags = "SELECT requester_key, first_at AS started_at, last_at AS ended_at FROM flag_rows"
    extend_back_over(con, "_scope", "requester_key", "keep_from", flags)
    # The measurements from measure_from on see every contact they look back at.
    _back_over_contacts(db, "judge_from", "measure_from", span)
    return Scope(requesters, incremental=True)


def _back_over_contacts(db: Database, column: str, base: str, span: timedelta) -> None:
    """Set `column` to `span` before `base`, or earlier to the start of a contact still going on then."""
    db.con.execute(
        f"""
        UPDATE _scope SET {column} = least(_scope.{base} - $span, coalesce(going_on.started_at, 'infinity'))
        FROM (SELECT s.requester_key, min(c.started_at) AS started_at FROM _scope s
              LEFT JOIN contacts c ON c.requester_key = s.requester_key
                                  AND coalesce(c.ended_at, c.started_at) >= s.{base} - $span
              GROUP BY s.requester_key) going_on
        WHERE going_on.requester_key = _scope.requester_key
        """,
        {"span": span},
    )
