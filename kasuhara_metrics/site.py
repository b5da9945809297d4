"""Site settings: the facts about one ward's installation that ingest needs.

They come from built-in defaults, optionally overridden by a `[site]` table in a TOML file
(`--site FILE` or `KASUHARA_SITE`). The profile of the rules issue may carry the same table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError, SourceLocation
from .tomlfile import TomlDocument, load_toml, reject_unknown_keys

# Asterisk applications that answer a call without a member of staff on the line: time spent
# there is a machine's, so such a leg is not "answered" for the rules (announcements, voicemail).
DEFAULT_MACHINE_APPS = (
    "VoiceMail",
    "VoiceMailMain",
    "Playback",
    "Background",
    "BackGround",
    "Read",
    "Record",
    "MusicOnHold",
    "Echo",
    "SayDigits",
    "SayNumber",
    "Festival",
)


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
    # Outside-line code some PBXs put before external numbers (e.g. "0" in 0 + 03-...).
    outside_line_prefix: str = ""
    machine_apps: tuple[str, ...] = DEFAULT_MACHINE_APPS
    # When the counters close (HH:MM, site time): the reference of the after-closing overstay rule.
    counter_closing: str = "17:15"
    source: SourceLocation | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"unknown time zone '{self.timezone}' - use an IANA name such as Asia/Tokyo", self.source
            ) from None
        if not 0 <= self.internal_max_digits <= 8:
            raise SettingsError(
                f"internal_max_digits must be between 0 and 8, not {self.internal_max_digits}", self.source
            )
        if not _is_clock_time(self.counter_closing):
            raise SettingsError(f"counter_closing must be a time such as \"17:15\", not {self.counter_closing!r}", self.source)
        if self.outside_line_prefix and not self.outside_line_prefix.isdigit():
            raise SettingsError("outside_line_prefix must be digits, e.g. \"0\"", self.source)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "source":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: SourceLocation | None = None) -> "SiteSettings":
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                value = data[f.name]
                kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs, source=source)


def _is_clock_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and 0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59


SITE_KEYS = tuple(f.name for f in fields(SiteSettings) if f.name != "source")


def site_from_document(doc: TomlDocument) -> SiteSettings:
    table = doc.data.get("site", {})
    if not isinstance(table, dict):
        raise SettingsError("'site' must be a table: [site]", doc.locate("site"))
    reject_unknown_keys(doc, table, SITE_KEYS, "site", SettingsError)
    for key, value in table.items():
        expected = _expected_type(key)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SettingsError(
                f"site.{key} must be {_type_words(expected)}, not {value!r}", doc.locate(f"site.{key}")
            )
    return SiteSettings.from_dict(table, SourceLocation(doc.path))


def _expected_type(key: str) -> type:
    default = getattr(SiteSettings(), key)
    return list if isinstance(default, tuple) else type(default)


def _type_words(kind: type) -> str:
    return {str: "a string", int: "an integer", list: "a list of strings"}[kind]


def load_site(path: str | None = None, timezone: str | None = None) -> SiteSettings:
    """Defaults, then the `[site]` table of `path` (or $KASUHARA_SITE), then an explicit time zone."""
    path = path or os.environ.get("KASUHARA_SITE")
    settings = site_from_document(load_toml(path, SettingsError)) if path else SiteSettings()
    if timezone:
        settings = replace(settings, timezone=timezone)
    return settings
