"""Which clock a file's times were written in, and how we know.

Naive export times are site-local unless the file proves another clock or the site says so:
- a setting wins (`[site.clock]` per source, or `clock` in a mapping): "site", "utc" or a zone name;
- Asterisk files prove their clock: a uniqueid is `<epoch>.<seq>` of the channel's start, so the
  start read as UTC or as site time lands on that epoch (the sample cdr.conf sets usegmtime=yes);
- some formats are UTC by definition (CUCM epochs, Amazon Connect `Z` times), and times written
  with an offset or `Z` are read as written, whatever the clock.
Every file's clock is recorded in `ingest_log.clock`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

_UNIQUEID_EPOCH = re.compile(r"^(?:\S+-)?(\d{9,10})\.\d+$")
# A CDR starts when its channel is created: a few seconds apart at most for most rows.
_TOLERANCE_S = 120
# Enough rows with epoch uniqueids to tell, and most of them agreeing.
_MIN_EVIDENCE = 3


@dataclass(frozen=True)
class Clock:
    """The zone naive times of a file are read in, and why (recorded in ingest_log.clock)."""

    zone: str
    basis: str
    proven: bool = True  # False: the site zone by default, nothing in the file says so

    def describe(self) -> str:
        return f"{self.zone} ({self.basis})"


def site_clock(site_zone: str) -> Clock:
    return Clock(site_zone, "site time zone", proven=False)


def clock_from_setting(value: str | None, site_zone: str, where: str) -> Clock | None:
    """The clock a setting fixes, or None for "auto" (or no setting): the file decides."""
    if not value or value.lower() == "auto":
        return None
    if value.lower() == "site":
        return Clock(site_zone, f"site time zone, set by {where}")
    if value.lower() == "utc":
        return Clock("UTC", f"set by {where}")
    return Clock(value, f"set by {where}")


def clock_from_uniqueids(
    starts: list[str], uniqueids: list[str], site_zone: str, start_format: str = "%Y-%m-%d %H:%M:%S"
) -> Clock | None:
    """UTC or site time, when the uniqueid epochs of the rows say which; None when they cannot tell.

    Each row whose uniqueid carries an epoch votes for the reading of its start time that lands
    within two minutes of that epoch. A row both readings fit (the site at UTC that day) votes for
    neither; most rows must fit one reading, and most of the deciding rows the same one.
    """
    zone, utc = ZoneInfo(site_zone), ZoneInfo("UTC")
    utc_votes = site_votes = both = with_epoch = 0
    for start, uniqueid in zip(starts, uniqueids, strict=True):
        match = _UNIQUEID_EPOCH.match((uniqueid or "").strip())
        if not match:
            continue
        try:
            naive = datetime.strptime(start.strip(), start_format)
        except ValueError:
            continue
        with_epoch += 1
        epoch = int(match.group(1))
        site_match = abs(naive.replace(tzinfo=zone).timestamp() - epoch) <= _TOLERANCE_S
        utc_match = abs(naive.replace(tzinfo=utc).timestamp() - epoch) <= _TOLERANCE_S
        both += site_match and utc_match
        site_votes += site_match and not utc_match
        utc_votes += utc_match and not site_match
    if with_epoch < _MIN_EVIDENCE or (site_votes + utc_votes + both) * 2 <= with_epoch:
        return None
    if utc_votes > site_votes:
        return Clock("UTC", f"from uniqueids ({utc_votes + both} of {with_epoch} rows): usegmtime=yes")
    if site_votes > utc_votes or both:
        return Clock(site_zone, f"site time zone, confirmed by uniqueids ({site_votes + both} of {with_epoch} rows)")
    return None


def night_note(night: int, total: int, clock: Clock) -> str | None:
    """A warning for a file read in the site zone by default whose calls mostly start at night."""
    if clock.proven or total < 20 or night * 2 <= total:
        return None
    return (
        f"warning: {night} of {total} calls start between 22:00 and 06:00 site time - if the phone system "
        'writes UTC, set clock = "utc" for this source ([site.clock] in the site settings, or clock in the '
        "mapping); `kasuhara ingest calls --check FILE` shows how a file would be read"
    )
