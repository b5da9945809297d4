"""Site settings: the facts about one ward's installation that ingest needs.

They come from built-in defaults, optionally overridden by a `[site]` table in a TOML file
(`--site FILE` or `KASUHARA_SITE`). The profile of the rules issue may carry the same table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError, SourceLocation
from .tomlfile import TomlDocument, load_toml, reject_unknown_keys

# Asterisk applications that answer a call without a member of staff on the line: time spent
# there is a machine's, so such a leg is not "answered" for the rules (IVR menus, announcements,
# voicemail). A leg with no destination channel reached nobody either, whatever its last application.
DEFAULT_MACHINE_APPS = (
    "VoiceMail",
    "VoiceMailMain",
    "Playback",
    "Background",
    "BackGround",
    "WaitExten",
    "Wait",
    "Read",
    "Record",
    "MusicOnHold",
    "Echo",
    "SayDigits",
    "SayNumber",
    "Festival",
    "Congestion",
    "Busy",
)

# Sources whose clock a site may set in [site.clock] (ingest/sources registers them; a test keeps both equal).
CLOCK_SOURCES = ("asterisk", "freeswitch", "cucm", "3cx", "twilio", "amazon_connect", "mapped", "visits")


@dataclass(frozen=True)
class SiteSettings:
    """Settings of one site. Naive export times are read in `timezone`."""

    timezone: str = "Asia/Tokyo"
    # Region used to read national numbers such as 03-1234-5678.
    region: str = "JP"
    # Caller numbers with at most this many digits are staff extensions (内線).
    internal_max_digits: int = 5
    # Asterisk dcontext values of calls placed from staff phones.
    internal_contexts: tuple[str, ...] = ("from-internal", "internal")
    # Numbers of staff phones that look like outside numbers (softphones, mobiles of staff): never requesters.
    staff_numbers: tuple[str, ...] = ()
    # Outside-line code some PBXs put before external numbers (e.g. "0" in 0 + 03-...).
    outside_line_prefix: str = ""
    machine_apps: tuple[str, ...] = DEFAULT_MACHINE_APPS
    # When the counters close (HH:MM, site time): the reference of the after-closing overstay rule.
    counter_closing: str = "17:15"
    # The clock of each source's naive times ([site.clock]: asterisk = "utc"); unset sources: "auto".
    clock: tuple[tuple[str, str], ...] = ()
    # A record dated further than this from its file's other records is a typo (2126 for 2026): rejected.
    plausible_years: int = 5
    # The ward's topics: a visit's topic is held as a code, shown by name when it is one of these.
    topics: tuple[str, ...] = ()
    # What an hour of a member of staff costs (yen): with it, the evidence file and the report put a
    # staff cost beside the handling hours (延べ対応時間 x cost, as 大阪市 and 静岡市 reported).
    staff_hourly_cost: int | None = None
    # The business calendar of the off-hours rule: opening hours (HH:MM-HH:MM, site time) on the
    # business days, closed on Japanese public holidays (jpholiday, 振替休日 and 国民の休日 included)
    # and on the closure days of every year (MM-DD; 12/29-1/3 by 行政機関の休日に関する法律 and the
    # wards' 休日条例).
    business_hours: str = "08:30-17:15"
    business_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    public_holidays: bool = True
    closure_days: tuple[str, ...] = ("12-29", "12-30", "12-31", "01-01", "01-02", "01-03")
    source: SourceLocation | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"unknown time zone '{self.timezone}' - use an IANA name such as Asia/Tokyo", self.source
            ) from None
        if not 1 <= self.plausible_years <= 50:
            raise SettingsError(f"plausible_years must be between 1 and 50, not {self.plausible_years}", self.source)
        if not 0 <= self.internal_max_digits <= 8:
            raise SettingsError(
                f"internal_max_digits must be between 0 and 8, not {self.internal_max_digits}", self.source
            )
        if not _is_clock_time(self.counter_closing):
            raise SettingsError(
                f'counter_closing must be a time such as "17:15", not {self.counter_closing!r}', self.source
            )
        if self.staff_hourly_cost is not None and (
            isinstance(self.staff_hourly_cost, bool)
            or not isinstance(self.staff_hourly_cost, int)
            or self.staff_hourly_cost < 0
        ):
            raise SettingsError(
                f"staff_hourly_cost must be whole yen (0 or more), not {self.staff_hourly_cost!r}", self.source
            )
        opens, _, closes = self.business_hours.partition("-")
        if not (_is_clock_time(opens) and _is_clock_time(closes) and _minutes(opens) < _minutes(closes)):
            raise SettingsError(
                f'business_hours must be opening and closing times such as "08:30-17:15", not {self.business_hours!r}',
                self.source,
            )
        if wrong := [d for d in self.business_days if d not in WEEKDAYS]:
            raise SettingsError(f"business_days: {wrong[0]!r} is not one of {', '.join(WEEKDAYS)}", self.source)
        if not self.business_days:
            raise SettingsError('business_days must name at least one day, e.g. ["mon", "tue"]', self.source)
        if wrong := [d for d in self.closure_days if not _is_month_day(d)]:
            raise SettingsError(f'closure_days: {wrong[0]!r} is not a month and day such as "12-29"', self.source)
        if self.outside_line_prefix and not self.outside_line_prefix.isdigit():
            raise SettingsError('outside_line_prefix must be digits, e.g. "0"', self.source)
        for name, value in self.clock:
            if name not in CLOCK_SOURCES:
                raise SettingsError(
                    f"clock.{name} names no source - use one of {', '.join(CLOCK_SOURCES)}", self.source
                )
            if problem := check_clock_setting(value):
                raise SettingsError(f"clock.{name}: {problem}", self.source)

    @property
    def business_minutes(self) -> tuple[int, int]:
        """Opening and closing time as minutes after midnight, site time."""
        opens, _, closes = self.business_hours.partition("-")
        return _minutes(opens), _minutes(closes)

    def clock_for(self, source_name: str) -> str:
        return dict(self.clock).get(source_name, "auto")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            # An unset staff cost is left out, so that profiles hash as they did before the setting.
            if f.name == "source" or (f.name == "staff_hourly_cost" and value is None):
                continue
            if f.name == "clock":
                if value:
                    out[f.name] = dict(value)
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: SourceLocation | None = None) -> SiteSettings:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                value = data[f.name]
                if isinstance(value, dict):
                    value = tuple(sorted(value.items()))
                kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs, source=source)


CLOCK_WORDS = ("auto", "site", "utc")


def check_clock_setting(value: str) -> str | None:
    """None when `value` is a usable clock (auto, site, utc or a zone name), else what is wrong with it."""
    if value.lower() in CLOCK_WORDS:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"clock '{value}' is not auto, site, utc or a time zone name such as Asia/Tokyo"
    return None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes)


def _is_month_day(text: str) -> bool:
    month, _, day = text.partition("-")
    try:
        date(2000, int(month), int(day))  # a leap year: 02-29 is a day
    except ValueError:
        return False
    return len(month) == 2 and len(day) == 2


def _is_clock_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return (
        hours.isdigit()
        and minutes.isdigit()
        and len(minutes) == 2
        and 0 <= int(hours) <= 23
        and 0 <= int(minutes) <= 59
    )


SITE_KEYS = tuple(f.name for f in fields(SiteSettings) if f.name != "source")


def site_from_document(doc: TomlDocument, base: SiteSettings | None = None) -> SiteSettings:
    """The `[site]` table of a TOML file over `base` (defaults): the keys it names replace base's."""
    table = doc.data.get("site", {})
    if not isinstance(table, dict):
        raise SettingsError("'site' must be a table: [site]", doc.locate("site"))
    reject_unknown_keys(doc, table, SITE_KEYS, "site", SettingsError)
    for key, value in table.items():
        expected = _expected_type(key)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SettingsError(f"site.{key} must be {_type_words(expected)}, not {value!r}", doc.locate(f"site.{key}"))
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise SettingsError(f"site.{key} must be a list of strings", doc.locate(f"site.{key}"))
    for name, value in table.get("clock", {}).items():
        where = doc.locate(f"site.clock.{name}")
        if name not in CLOCK_SOURCES:
            raise SettingsError(f"site.clock.{name} names no source - use one of {', '.join(CLOCK_SOURCES)}", where)
        problem = check_clock_setting(value) if isinstance(value, str) else 'it must be a string such as "utc"'
        if problem:
            raise SettingsError(f"site.clock.{name}: {problem}", where)
    base = base or SiteSettings()
    merged = base.to_dict() | table
    merged["clock"] = dict(base.clock) | table.get("clock", {})  # per source: a file names only the ones it sets
    try:
        return SiteSettings.from_dict(merged, SourceLocation(doc.path))
    except SettingsError as exc:
        # Every check names its key first: point at the line (and file, for a profile that extends) that set it.
        key = next((k for k in table if exc.message.startswith((f"{k} ", f"{k}:", f"{k}."))), None)
        raise SettingsError(exc.message, doc.locate(f"site.{key}") if key else exc.source) from None


def _expected_type(key: str) -> type:
    if key == "clock":
        return dict
    if key == "staff_hourly_cost":  # unset by default
        return int
    default = getattr(SiteSettings(), key)
    return list if isinstance(default, tuple) else type(default)


def _type_words(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        list: "a list of strings",
        dict: "a table: [site.clock]",
    }[kind]


def load_site(path: str | None = None, timezone: str | None = None) -> SiteSettings:
    """Defaults, then the `[site]` table of `path` (or $KASUHARA_SITE), then an explicit time zone."""
    return resolve_site(SiteSettings(), path, timezone)


def resolve_site(base: SiteSettings, site_path: str | None = None, timezone: str | None = None) -> SiteSettings:
    """The one SiteSettings of a command, from the weakest to the strongest: `base` (the defaults with
    the profile's [site]), the `[site]` table of a site file (--site or $KASUHARA_SITE), then an
    explicit time zone (--timezone or $KASUHARA_TZ). Ingest, nightly, judge, flags and the report
    all take their settings from here, so they give one answer."""
    site_path = site_path or os.environ.get("KASUHARA_SITE")
    settings = site_from_document(load_toml(site_path, SettingsError), base) if site_path else base
    timezone = timezone or os.environ.get("KASUHARA_TZ")
    if timezone:
        settings = replace(settings, timezone=timezone)
    return settings
