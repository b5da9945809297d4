"""`kasuhara report`: the weekly flag report for managers."""

from __future__ import annotations

from pathlib import Path

import click

from ..common.levels import WORST_SEVERITY
from ..report import Week, latest_week, write_report
from .app import AppContext, counted, handle_errors, pass_app, profile_option
from .progress import terminal_progress


@click.command()
@click.option("--week", required=True, help="ISO week (Monday start, site time) such as 2026-W47, or 'latest'.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder for the HTML page and the Excel workbook.",
)
@profile_option
@pass_app
@handle_errors
def report(app: AppContext, week: str, out: Path, profile_path: str | None) -> None:
    """Write the week's flag report: a self-contained Japanese HTML page and an Excel workbook.

    Counts and pseudonyms only: no phone number, name, summary or review note.

    \b
    Example:
        kasuhara report --week 2026-W47 --out reports/
    """
    app.use_profile(profile_path)
    with app.open(read_only=True) as db:
        profile = app.profile_that_judged(db)
        chosen = latest_week(db, profile.site.timezone) if week == "latest" else Week.parse(week, profile.site.timezone)
        with terminal_progress("report") as step:
            files = write_report(db, profile, chosen, out, progress=step)
    totals = files.data.totals
    if files.data.has_data:
        click.echo(
            f"{chosen.label}: {counted(totals['flags'], 'flag')} ({totals['new']:,} new, "
            f"{totals['ongoing']:,} ongoing, {totals[WORST_SEVERITY]:,} {WORST_SEVERITY}); "
            f"{counted(len(files.data.decisions), 'decision')}"
        )
    else:
        click.echo(
            f"{chosen.label}: no contacts in this week - no data was ingested for it "
            "(the report says so: a week without data is no quiet week)"
        )
    click.echo(f"report: {files.html}")
    click.echo(f"workbook: {files.workbook}")
