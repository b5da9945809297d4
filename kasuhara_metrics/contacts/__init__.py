"""Legs and visits -> contacts: one row per contact of a requester, rebuilt from the stored records.

A call is its legs: legs sharing an Asterisk linkedid (else uniqueid, else the export's call id)
are one call, and calls of one requester that overlap in time (a transfer written as two records,
or a forked leg without ids) are one contact. Its span runs from the first leg's start to the last
leg's end; its talk time is the union of the answered legs' [answer, end] intervals; its department
is that of the last answered leg's dialled number (else the last leg's).

Calls from staff extensions, from the ward's own numbers and to outside numbers are kept as
contacts with no requester, as are withheld and unusable callers: they never make a requester.

build.py brings the table up to the stored records (all of it, or only what new files touch),
scope.py finds what new files touch, sql.py holds the SQL that makes contacts, links.py joins
pseudonyms seen on one visit, changes.py lists whose contacts changed for the next judge run.
"""

from .build import Refresh, are_stale, rebuild, refresh
from .changes import EVERYONE, LISTED, UNJUDGED, ChangedFrom, mark_judged, unjudged
from .links import rebuild_requester_links

__all__ = [
    "EVERYONE",
    "LISTED",
    "UNJUDGED",
    "ChangedFrom",
    "Refresh",
    "are_stale",
    "mark_judged",
    "rebuild",
    "rebuild_requester_links",
    "refresh",
    "unjudged",
]
