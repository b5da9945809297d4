"""Hits: a rule's measurements that reach one of its tiers, each with its severity and threshold."""

from __future__ import annotations

from ..common.db import Database
from ..rules import RULE_KINDS, Rule
from .outcome import RuleOutcome
from .prepare import HIT_COLUMNS
from .scope import Scope


def find_hits(db: Database, rule: Rule, scope: Scope) -> RuleOutcome:
    """Add the rule's hits in scope to `_hits`; count the contacts it looked at and the hits it kept."""
    kind = RULE_KINDS[rule.kind]
    sql, params = kind.hits_sql(rule)
    measured = ", ".join(HIT_COLUMNS[1:])
    kept = scope.hits(f"({sql})", "h")
    try:
        db.con.execute(
            f"INSERT INTO _hits ({', '.join(HIT_COLUMNS)}) SELECT $rule_id, {measured} FROM {kept}",
            {**params, "rule_id": rule.id},
        )
        where, filter_params = kind.looked_at(rule)
        evaluated = db.con.execute(f"SELECT count(*) FROM _judged c WHERE {where}", filter_params).fetchall()[0][0]
        hits = db.con.execute("SELECT count(*) FROM _hits WHERE rule_id = ?", [rule.id]).fetchall()[0][0]
    except Exception as exc:
        exc.add_note(f"while judging rule {rule.id} (kind {rule.kind}) of {rule.source}")
        raise
    return RuleOutcome(rule.id, evaluated, hits)
