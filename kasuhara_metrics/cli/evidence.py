"""`kasuhara evidence` and `preserve`: one requester's file for counsel, and the recordings to keep."""

from __future__ import annotations

from pathlib import Path

import click

from ..desk.preserve import preservation_list
from ..report.evidence import evidence_data, record_reveal
from ..report.evidence_file import write_evidence
from .app import AppContext, counted, date_type, emit_rows, format_option, handle_errors, pass_app, profile_option


@click.command()
@click.argument("requester")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to.")
@click.option(
    "--reveal",
    is_flag=True,
    help="Put the caller's number on the cover: REQUESTER must be the number (needs the site secret). "
    "Recorded in `reveals`.",
)
@click.option("--by", "revealed_by", help="Who reveals the number (with --reveal).")
@profile_option
@pass_app
@handle_errors
def evidence(
    app: AppContext, requester: str, out: Path, reveal: bool, revealed_by: str | None, profile_path: str | None
) -> None:
    """Write one requester's evidence file for counsel: an Excel workbook and a printable HTML page.

    Every contact with its date, times, handling time, department and the ids to retrieve its recording
    (uniqueid, linkedid) or reception record; the flags and the decisions on them; 延べ対応時間 per
    department, with a staff cost when the site sets staff_hourly_cost. Pseudonym only, unless --reveal.

    \b
    Example:
        kasuhara evidence Rbc83e7bbc0270fe0 --out evidence/
        kasuhara evidence 090-1234-5678 --reveal --by 佐藤 --out evidence/
    """
    if reveal and not revealed_by:
        raise click.UsageError("--reveal needs --by NAME: who reveals the number is recorded")
    app.use_profile(profile_path)
    with app.open(read_only=not reveal, writer="evidence") as db:
        profile = app.profile_that_judged(db)
        data = evidence_data(db, requester, profile, reveal_by=revealed_by if reveal else None)
        files = write_evidence(data, out)
        record_reveal(db, data, out)
    click.echo(
        f"{data.requester_key}: {counted(data.totals['contacts'], 'contact')}, "
        f"{data.totals['handling_minutes']} minutes of handling, {counted(len(data.flags), 'flag')}"
        + (" - the number is on the cover; the reveal is recorded" if data.reveal else "")
    )
    click.echo(f"page: {files.html}")
    click.echo(f"workbook: {files.workbook}")


@click.command()
@click.option("--since", required=True, type=date_type, help="Calls that started on this day or later.")
@format_option
@pass_app
@handle_errors
def preserve(app: AppContext, since, output_format: str) -> None:
    """List the recordings to keep: every call behind an open or confirmed flag since a day.

    One row per CDR leg, with its uniqueid and linkedid (what most PBXs name a recording by), so that a
    site can keep those recordings past its auto-deletion. Flags reviewed as dismissed (該当なし) are left out.

    \b
    Example:
        kasuhara preserve --since 2026-09-01 --format csv > preserve.csv
    """
    with app.open(read_only=True) as db:
        columns, rows = preservation_list(db, since.date())
    emit_rows(columns, rows, output_format, empty="No calls behind open or confirmed flags since that day.")
