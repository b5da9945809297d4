"""The weekly flag report for managers: a self-contained Japanese HTML page and an Excel workbook.

Both hold counts and pseudonyms only: no phone number, name, free-text summary or review note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..common.db import Database
from ..common.levels import CATEGORIES, SEVERITY_LABELS, WORST_SEVERITY
from ..common.progress import Step, silent
from ..desk.weeks import Week
from ..rules import Profile
from .data import WeeklyData, weekly_data
from .decisions import DECISIONS_ON_PAGE, weekday_labels
from .pages import render_page


@dataclass
class ReportFiles:
    week: Week
    html: Path
    workbook: Path
    data: WeeklyData


def latest_week(db: Database, timezone_name: str) -> Week:
    """The week of the newest contact: what `--week latest` means."""
    newest = db.con.execute("SELECT max(started_at) FROM contacts").fetchall()[0][0]
    return Week.containing(newest or datetime.now(UTC), timezone_name)


def write_report(db: Database, profile: Profile, week: Week, out: Path, progress: Step = silent) -> ReportFiles:
    # Imported here: matplotlib, Jinja2 and openpyxl cost every other command a second of start-up.
    from .charts import behaviour_chart, trend_chart
    from .excel import write_workbook

    now = datetime.now(ZoneInfo(week.timezone))
    progress("the week's figures", 0, 3)
    data = weekly_data(db, profile, week, now)
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"kasuhara-report-{week.label}.html"
    progress("charts and page", 1, 3)
    page = render_page(
        "weekly.html.j2",
        data=data,
        labels=SEVERITY_LABELS,
        worst=WORST_SEVERITY,
        categories=CATEGORIES,
        decisions_on_page=DECISIONS_ON_PAGE,
        weekdays=weekday_labels(week),
        trend_svg=trend_chart(data.trend),
        behaviour_svg=behaviour_chart(data.by_behaviour),
    )
    html.write_text(page, encoding="utf-8")
    workbook = out / f"kasuhara-report-{week.label}.xlsx"
    progress("workbook", 2, 3)
    write_workbook(data, workbook)
    return ReportFiles(week, html, workbook, data)


__all__ = ["ReportFiles", "Week", "latest_week", "write_report"]
