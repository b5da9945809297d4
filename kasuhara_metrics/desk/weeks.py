"""ISO weeks (Monday to Sunday) in the site time zone: 2026-W47 is Monday 16 to Sunday 22 November."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..common.errors import KasuharaError

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    timezone: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> Week:
        match = _WEEK.match(text.strip().upper())
        if not match:
            raise KasuharaError(f"week '{text}' is not an ISO week such as 2026-W47")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise KasuharaError(f"{year} has no ISO week {number}") from None
        return cls(year, number, timezone)

    @classmethod
    def containing(cls, moment: datetime, timezone: str) -> Week:
        year, number, _ = moment.astimezone(ZoneInfo(timezone)).isocalendar()
        return cls(year, number, timezone)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, datetime.min.time(), tzinfo=ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        """The next Monday 00:00: the week is [start, end)."""
        return self.start + timedelta(days=7)

    def previous(self, count: int) -> list[Week]:
        """This week and the `count - 1` before it, oldest first."""
        return [
            Week.containing(self.start - timedelta(days=7 * back), self.timezone) for back in range(count - 1, -1, -1)
        ]

    def japanese(self) -> str:
        sunday = self.monday + timedelta(days=6)
        monday = self.monday
        return f"{self.year}年 第{self.number}週 ({monday.month}月{monday.day}日〜{sunday.month}月{sunday.day}日)"
