"""The site's business calendar: which days the ward office is closed, and why.

Closed are the days that are not business days (site `business_days`), Japanese public holidays
from jpholiday (a maintained package, with 振替休日 and 国民の休日), when `public_holidays` is on,
and the closure days of every year (`closure_days`, 12-29 to 01-03 by default). The off-hours rule
joins these days to contacts; the report could colour them.
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday

from .site import WEEKDAYS, SiteSettings

CLOSURE = "年末年始等"


def closed_days(site: SiteSettings, first: date, last: date) -> list[tuple[date, str]]:
    """(day, reason) for every closed day from `first` to `last`, both included; one reason a day,
    the holiday's name before a closure before a weekend."""
    holidays = dict(jpholiday.between(first, last)) if site.public_holidays else {}
    closures = set(site.closure_days)
    business = {WEEKDAYS.index(name) for name in site.business_days}
    days = []
    day = first
    while day <= last:
        if day in holidays:
            days.append((day, str(holidays[day])))
        elif day.strftime("%m-%d") in closures:
            days.append((day, CLOSURE))
        elif day.weekday() not in business:
            days.append((day, "月火水木金土日"[day.weekday()] + "曜日"))
        day += timedelta(days=1)
    return days
