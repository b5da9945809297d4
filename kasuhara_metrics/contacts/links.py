"""Requester links: pseudonyms seen together on one visit (a phone and a requester_ref) are one requester;
and which pseudonyms a change of links moves to another requester (`relinked_pseudonyms`)."""

from __future__ import annotations

import pyarrow as pa

from ..common import arrays
from ..common.db import Database
from ..common.duckutil import ArrowScope


def rebuild_requester_links(db: Database) -> int:
    """Join pseudonyms seen together on one visit (phone and requester_ref) into one requester."""
    # The ward's own numbers (a visitor who gave the switchboard's number) link nobody.
    pairs = db.con.execute("""
        SELECT DISTINCT phone_key, ref_key FROM visit_records
        WHERE phone_key IS NOT NULL AND ref_key IS NOT NULL
          AND phone_key NOT IN (SELECT number_key FROM departments WHERE number_key IS NOT NULL)
    """).fetchall()
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for phone, ref in pairs:
        a, b = find(phone), find(ref)
        if a != b:
            parent[max(a, b)] = min(a, b)
    components: dict[str, list[str]] = {}
    for key in list(parent):
        components.setdefault(find(key), []).append(key)
    phones = {phone for phone, _ in pairs}
    aliases, targets = [], []
    for members in components.values():
        # A phone pseudonym names the person when there is one, so calls need no link to be found.
        representative = min((m for m in members if m in phones), default=min(members))
        for member in members:
            if member != representative:
                aliases.append(member)
                targets.append(representative)
    db.con.execute("DELETE FROM requester_links")
    if aliases:
        links = ArrowScope(
            db.con,
            {"_links": pa.table({"alias_key": arrays.strings(aliases), "requester_key": arrays.strings(targets)})},
        )
        links.execute("INSERT INTO requester_links BY NAME SELECT alias_key, requester_key FROM _links")
    return len(aliases)


def relinked_pseudonyms(before: set[tuple[str, str]], after: set[tuple[str, str]]) -> list[str]:
    """The pseudonyms of every requester that a change of links joins, splits or renames: each
    one's contacts (all of them, calls merge by requester) are those of another requester now."""
    requester_before, requester_after = dict(before), dict(after)
    moved = {
        alias
        for alias in requester_before.keys() | requester_after.keys()
        if requester_before.get(alias, alias) != requester_after.get(alias, alias)
    }
    requesters = {requester_before.get(a, a) for a in moved} | {requester_after.get(a, a) for a in moved}
    return sorted(requesters | {alias for alias, requester in before | after if requester in requesters})
