"""Run a threshold profile over the contacts: prepare, find hits, make episodes, store.

A flag's id comes from (requester, rule, group, episode start), so the same data gives the same
flags, and the flags of one run replace those of the run before: `flags` never mixes profile
versions, and `judge_runs` records which profile made them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from .. import contacts
from ..common.db import Database
from ..common.duckutil import drop_temp_tables
from ..common.errors import KasuharaError
from ..common.progress import Step, silent
from ..rules import Profile
from .episodes import compare_with_previous, find_episodes
from .hits import find_hits, keep_hits, stored_hits_complete, take_stored_hits
from .outcome import JudgeReport
from .prepare import prepare
from .scope import Scope, create_scope
from .store import last_run, store


def judge(
    db: Database,
    profile: Profile,
    *,
    as_of: date | None = None,
    dry_run: bool = False,
    requesters: list[str] | None = None,
    changed_from: Mapping[str, datetime] | None = None,
    progress: Step = silent,
) -> JudgeReport:
    """Judge every requester's contacts (started before the end of `as_of`, site time) with `profile`.

    A dry run computes the same flags and what would change, then leaves the database untouched;
    it works on a read-only database too (what-ifs in an analyst's notebook).

    `requesters` judges only those and replaces only their flags. `changed_from` (the nightly run,
    and `kasuhara judge` after `ingest` commands: `contacts.unjudged`, each requester whose contacts
    changed since the last run, with the start of the earliest changed contact) judges only the
    part of their history that the change can reach (see `scope`). Everyone else's contacts did
    not change, so neither could their flags; the profile must be the one of the last run, or
    every flag is judged again.
    """
    if changed_from is not None:
        requesters = sorted(changed_from)
    previous = last_run(db)
    hits_complete = previous is not None and stored_hits_complete(db, previous.run_id)
    # Everyone, unless the last run judged with this profile and, for an increment, kept all its hits.
    if (
        previous is None
        or previous.profile_hash != profile.content_hash
        or (changed_from is not None and not hits_complete)
    ):
        requesters = changed_from = None
    if db.read_only and not dry_run:
        raise KasuharaError("judge needs the database opened for writing (or --dry-run)")
    report = JudgeReport(None, profile, as_of, dry_run=dry_run, requesters=requesters)
    started = datetime.now(UTC)
    try:
        if dry_run:
            if db.in_transaction:
                raise KasuharaError("a dry run cannot be part of a larger transaction")
            db.con.execute("BEGIN TRANSACTION")
            try:
                _evaluate(db, profile, as_of, report, create_scope(db, profile, requesters, changed_from), progress)
            finally:
                db.con.execute("ROLLBACK")
            return report
        with db.transaction():
            if contacts.are_stale(db):  # records stored since the last build (an ingest that failed half-way)
                progress("building contacts", 0, None)
                contacts.refresh(db)
                requesters = report.requesters = changed_from = None
            scope = create_scope(db, profile, requesters, changed_from)
            _evaluate(db, profile, as_of, report, scope, progress)
            report.run_id = db.con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0]
            progress("storing flags and evidence", _steps(profile) - 1, _steps(profile))
            keep_hits(db, scope, report.run_id, as_of, hits_complete)
            store(db, profile, report, scope, started)
            contacts.mark_judged(db, None if scope.everyone else "_scope", cut_off=as_of is not None)
    finally:
        drop_temp_tables(
            db.con,
            *("_judged", "_closed_days", "_hits", "_episodes", "_rules", "_scope"),
            *("_unchanged", "_replaced", "_continuing"),
        )
    return report


def _evaluate(
    db: Database, profile: Profile, as_of: date | None, report: JudgeReport, scope: Scope, progress: Step
) -> None:
    steps = _steps(profile)
    progress("the contacts to judge", 0, steps)
    prepare(db, profile, scope, as_of)
    take_stored_hits(db, scope)
    report.contacts_judged = db.con.execute("SELECT count(*) FROM _judged").fetchall()[0][0]
    report.unknown_departments = unknown_override_departments(db, profile)
    for number, rule in enumerate(profile.enabled_rules, start=1):
        progress(f"rule {rule.id}", number, steps)
        report.rules.append(find_hits(db, rule, scope))
    progress("episodes", steps - 2, steps)
    find_episodes(db)
    compare_with_previous(db, report, scope)


def unknown_override_departments(db: Database, profile: Profile) -> dict[str, list[str]]:
    """rule id -> the departments its overrides name that no stored contact has."""
    named = {rule.id: [d for o in rule.overrides for d in o.departments] for rule in profile.enabled_rules}
    if not any(named.values()):
        return {}
    known = {row[0] for row in db.con.execute("SELECT DISTINCT department FROM contacts").fetchall()}
    unknown = {rule_id: [d for d in departments if d not in known] for rule_id, departments in named.items()}
    return {rule_id: departments for rule_id, departments in unknown.items() if departments}


def _steps(profile: Profile) -> int:
    """Preparing, each rule, episodes, storing."""
    return len(profile.enabled_rules) + 3
