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
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from ..common import arrays

# Start times or uniqueids: as the reader holds them (Arrow), or as Python values.
Strings: TypeAlias = pa.Array | pa.ChunkedArray | Sequence[str | None]

_UNIQUEID_EPOCH = re.compile(r"^(?:\S+-)?(?P<epoch>\d{9,10})\.\d+$")  # also RE2, for Arrow
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


DEFAULT_START_FORMAT = "%Y-%m-%d %H:%M:%S"
# A start time strptime and Arrow read alike: fields in range (Arrow rolls 2026-02-30 over to March,
# so its day is checked against the one written).
_REGULAR_START = r"^[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?P<day>0[1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d$"


@dataclass
class Votes:
    """How the rows with an epoch uniqueid read: as site time, as UTC, as both."""

    with_epoch: int = 0
    site: int = 0
    utc: int = 0
    both: int = 0

    def add(self, other: Votes) -> Votes:
        return Votes(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def clock_from_uniqueids(
    starts: Strings, uniqueids: Strings, site_zone: str, start_format: str = DEFAULT_START_FORMAT
) -> Clock | None:
    """UTC or site time, when the uniqueid epochs of the rows say which; None when they cannot tell.

    Each row whose uniqueid carries an epoch votes for the reading of its start time that lands
    within two minutes of that epoch. A row both readings fit (the site at UTC that day) votes for
    neither; most rows must fit one reading, and most of the deciding rows the same one.
    """
    votes = count_votes(_arrow(starts), _arrow(uniqueids), site_zone, start_format)
    with_epoch, site_votes, utc_votes, both = votes.with_epoch, votes.site, votes.utc, votes.both
    if with_epoch < _MIN_EVIDENCE or (site_votes + utc_votes + both) * 2 <= with_epoch:
        return None
    if utc_votes > site_votes:
        return Clock("UTC", f"from uniqueids ({utc_votes + both} of {with_epoch} rows): usegmtime=yes")
    if site_votes > utc_votes or both:
        return Clock(site_zone, f"site time zone, confirmed by uniqueids ({site_votes + both} of {with_epoch} rows)")
    return None


def _arrow(values: Strings) -> pa.Array | pa.ChunkedArray:
    return values if isinstance(values, pa.Array | pa.ChunkedArray) else arrays.strings(values)


def count_votes(
    starts: pa.Array | pa.ChunkedArray, uniqueids: pa.Array | pa.ChunkedArray, site_zone: str, start_format: str
) -> Votes:
    """The votes of every row: a column at a time for regular start times, row by row for the rest.

    (A year of files is read in a second rather than with a strptime call per row. The columns
    come as the reader holds them, and only the rows read one by one become Python values: a
    year's round trip through Python lists cost more than the votes themselves.)
    """
    if start_format != DEFAULT_START_FORMAT:
        return row_votes(starts.to_pylist(), uniqueids.to_pylist(), site_zone, start_format)
    ids = pc.utf8_trim_whitespace(uniqueids)
    trimmed = pc.utf8_trim_whitespace(starts)
    naive = pc.strptime(trimmed, format=start_format, unit="s", error_is_null=True)
    site = pc.assume_timezone(naive, timezone=site_zone, ambiguous="earliest", nonexistent="earliest")
    regular = pc.match_substring_regex(trimmed, _REGULAR_START)
    # A regular start's day is its characters 8-9 (YYYY-MM-DD ...): no capture, which RE2 runs slowly.
    written_day = pc.cast(pc.utf8_slice_codeunits(pc.if_else(regular, trimmed, arrays.string(None)), 8, 10), pa.int64())
    fast = _all(
        pc.string_is_ascii(ids),  # Python's \d and \S take more than ASCII
        pc.match_substring_regex(ids, _UNIQUEID_EPOCH.pattern),
        regular,
        pc.equal(pc.day(naive), written_day),
        # a time that does not exist on the site's clock (a summer-time gap) is read row by row
        pc.equal(site, pc.assume_timezone(naive, timezone=site_zone, ambiguous="earliest", nonexistent="latest")),
    )
    epoch = pc.cast(_epoch_text(ids.filter(fast)), pa.int64())
    utc_seconds = pc.cast(pc.cast(naive.filter(fast), pa.timestamp("s")), pa.int64())
    site_seconds = pc.cast(pc.cast(site.filter(fast), pa.timestamp("s", tz="UTC")), pa.int64())
    tolerance = arrays.number(_TOLERANCE_S)
    site_match = pc.less_equal(pc.abs(pc.subtract(site_seconds, epoch)), tolerance)
    utc_match = pc.less_equal(pc.abs(pc.subtract(utc_seconds, epoch)), tolerance)
    votes = Votes(
        len(epoch),
        _true(pc.and_(site_match, pc.invert(utc_match))),
        _true(pc.and_(utc_match, pc.invert(site_match))),
        _true(pc.and_(site_match, utc_match)),
    )
    slow = pc.indices_nonzero(pc.invert(fast))
    return votes.add(
        row_votes(starts.take(slow).to_pylist(), uniqueids.take(slow).to_pylist(), site_zone, start_format)
    )


def _epoch_text(ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The epoch of uniqueids that match _UNIQUEID_EPOCH: the digits after the last '-' (the epoch
    and its sequence hold none), up to the '.'."""
    after_prefix = pc.replace_substring_regex(ids, pattern="^.*-", replacement="")
    return pc.list_element(pc.split_pattern(after_prefix, pattern=".", max_splits=1), arrays.number(0))


def _all(*masks: pa.Array) -> pa.Array:
    """Rows true in every mask (a null is false)."""
    result = masks[0]
    for mask in masks[1:]:
        result = pc.and_kleene(result, mask)
    return pc.fill_null(result, arrays.boolean(False))


def _true(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def row_votes(starts: list[str], uniqueids: list[str], site_zone: str, start_format: str) -> Votes:
    """The votes row by row: any start format, any time (the reference the column way must equal)."""
    zone, utc = ZoneInfo(site_zone), ZoneInfo("UTC")
    votes = Votes()
    for start, uniqueid in zip(starts, uniqueids, strict=True):
        match = _UNIQUEID_EPOCH.match((uniqueid or "").strip())
        if not match:
            continue
        try:
            naive = datetime.strptime(start.strip(), start_format)
        except ValueError:
            continue
        votes.with_epoch += 1
        epoch = int(match.group("epoch"))
        site_match = abs(naive.replace(tzinfo=zone).timestamp() - epoch) <= _TOLERANCE_S
        utc_match = abs(naive.replace(tzinfo=utc).timestamp() - epoch) <= _TOLERANCE_S
        votes.both += site_match and utc_match
        votes.site += site_match and not utc_match
        votes.utc += utc_match and not site_match
    return votes


def night_note(night: int, total: int, clock: Clock) -> str | None:
    """A warning for a file read in the site zone by default whose calls mostly start at night."""
    if clock.proven or total < 20 or night * 2 <= total:
        return None
    return (
        f"warning: {night} of {total} calls start between 22:00 and 06:00 site time - if the phone system "
        'writes UTC, set clock = "utc" for this source ([site.clock] in the site settings, or clock in the '
        "mapping); `kasuhara ingest calls --check FILE` shows how a file would be read"
    )
