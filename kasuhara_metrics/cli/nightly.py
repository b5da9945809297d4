"""`kasuhara nightly` (the unattended batch), `review` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..common.outcomes import EXIT_CODES
from ..desk.review_workbook import import_reviews
from ..desk.reviews import STATUSES, add_review
from ..nightly import NightlyReport, run_nightly
from ..rules import Profile
from .app import AppContext, counted, date_type, handle_errors, pass_app, profile_option
from .judge import warn_of_unknown_departments
from .progress import terminal_progress


@click.command()
@click.option(
    "--inbox",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of export files: calls/, visits/, departments/ (or files told apart by content).",
)
@profile_option
@click.option(
    "--settle",
    default=60,
    show_default=True,
    type=click.IntRange(0),
    help="Leave files changed in the last SECONDS for the next run (they may still be being written).",
)
@click.option(
    "--wait",
    default=600,
    show_default=True,
    type=click.IntRange(0),
    help="How long to wait for analysts' read-only sessions to let go of the database.",
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Read every file again, even one an earlier run took with the same path, size and time "
    "(e.g. restored from a backup); contents already ingested still add nothing.",
)
@pass_app
@handle_errors
def nightly(app: AppContext, inbox: Path, profile_path: str | None, settle: int, wait: int, recheck: bool) -> None:
    """Ingest the inbox's new files, judge, and record the run - as one all-or-nothing step.

    Exit codes: 0 done; 3 done, but rows were rejected (see `rejects`); 1 failed (a file could not
    be read, or the run changed nothing); 75 another run holds the database (try again later).

    \b
    Example:
        kasuhara --db /var/lib/kasuhara/kasuhara.duckdb nightly --inbox /srv/exports
    """
    app.use_profile(profile_path)
    profile = app.profile()
    with app.open(writer="nightly", wait_seconds=wait) as db:
        with terminal_progress("nightly") as step:
            report = run_nightly(db, inbox, profile, settle_seconds=settle, recheck=recheck, progress=step)
    if report.message:  # rolled back: nothing of what it read was kept
        click.echo(
            f"nightly run {report.nightly_id}: failed; the next run reads the {len(report.ingested)} new files again"
        )
    else:
        _echo_summary(report, profile)
    for failure in report.failures:
        click.echo(f"Error: {failure}", err=True)
    if report.message:
        click.echo(f"Error: the run changed nothing: {report.message}", err=True)
    sys.exit(EXIT_CODES[report.status])


def _echo_summary(report: NightlyReport, profile: Profile) -> None:
    click.echo(
        f"nightly run {report.nightly_id}: {report.status}; {len(report.ingested)} new files, "
        f"{len(report.skipped)} already ingested, {len(report.waiting)} still being written, "
        f"{len(report.failures)} failed"
    )
    for path, why in report.failed_before:
        click.echo(
            f"skipped, unchanged since it failed: {path} ({why}) - fix or replace the file, or run with --recheck"
        )
    if report.ingested:
        click.echo(
            f"rows: {report.rows('rows_read')} read, {report.rows('kept')} kept, "
            f"{report.rows('rejected')} rejected, {report.rows('duplicates')} duplicates"
        )
    if report.unusable:
        click.echo(
            f"not judged: {sum(u['unusable'] for u in report.unusable)} calls whose caller is not a valid "
            "number ("
            + "; ".join(f"{u['path']}: {u['unusable']} of {u['calls']}" for u in report.unusable)
            + ") - if that is many, check how the phone system writes caller numbers"
        )
    if report.judged:
        judged = report.judged
        scope = (
            "everyone"
            if judged.requesters is None
            else f"the {len(judged.requesters)} requesters whose contacts changed, as far back as the change reaches"
        )
        click.echo(
            f"judged {scope} with {profile.name} {profile.version}: {judged.total_flags} flags "
            f"({judged.new} new, {judged.updated} updated, {judged.gone} gone)"
        )
        health = ", ".join(f"{o.rule_id} {o.contacts_evaluated}->{o.flags}" for o in judged.rules)
        click.echo(f"rule health (contacts evaluated -> flags): {health}")
        warn_of_unknown_departments(judged)
    else:
        click.echo("nothing new to judge")


@click.command()
@click.argument("flag_id", required=False)
@click.option("--status", type=click.Choice(STATUSES), help="The decision.")
@click.option("--note", default="", help="Why (kept with the flag, never in reports).")
@click.option("--by", "reviewer", help="Who decided (with --from: for rows whose 確認者 is empty).")
@click.option(
    "--from",
    "workbook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Import the decisions filled in on a weekly report's workbook (its 確認結果, メモ and 確認者 columns).",
)
@pass_app
@handle_errors
def review(
    app: AppContext, flag_id: str | None, status: str | None, note: str, reviewer: str | None, workbook: Path | None
) -> None:
    """Record a review decision on a flag; it survives every later run and re-judging.

    With --from, every decision a manager filled in on the report's workbook is checked first (a wrong
    value is reported by sheet and cell) and then recorded, all or none.

    \b
    Example:
        kasuhara review Fe15de38caa2f2a21 --status dismissed --note "moving house" --by 佐藤
        kasuhara review --from reports/kasuhara-report-2026-W38.xlsx
    """
    if workbook is not None:
        if flag_id or status or note:
            raise click.UsageError(
                "--from reads the flags, statuses and notes from the workbook: drop FLAG_ID, --status and --note"
            )
        with app.open(writer="review") as db:
            recorded = import_reviews(db, workbook, reviewer)
        for decision, review_id in recorded:
            click.echo(
                f"review {review_id}: {decision.flag_id} {decision.status} by {decision.reviewer} ({decision.cell})"
            )
        click.echo(f"{workbook.name}: {counted(len(recorded), 'decision')} recorded")
        return
    if not flag_id or not status or not reviewer:
        raise click.UsageError("give FLAG_ID, --status and --by (or --from WORKBOOK.xlsx)")
    with app.open(writer="review") as db:
        review_id = add_review(db, flag_id, status, reviewer, note)
    click.echo(f"review {review_id}: {flag_id} {status} by {reviewer}")


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to.")
@click.option(
    "--with-notes",
    is_flag=True,
    help="Add the review notes (free text, from the vault: operators only) to flags.parquet.",
)
@click.option(
    "--buckets",
    type=click.IntRange(1, 4096),
    help="Contacts as contacts/bucket=K/ folders by requester (K = 0..N-1; -1: nobody's), for the Spark judge.",
)
@pass_app
@handle_errors
def export(app: AppContext, out: Path, with_notes: bool, buckets: int | None) -> None:
    """Write flags, flag evidence and contacts as Parquet files (pseudonyms only) for other tools.

    The contacts are what `kasuhara judge --engine spark --from` reads; shards of a consolidation
    export the same --buckets, and each bucket can be judged alone (docs/scale.md).

    \b
    Example:
        kasuhara export --out exports/2026-11-22
        kasuhara export --out exports/shard-a --buckets 16
    """
    from ..desk.export import export_parquet  # here: pyarrow.parquet slows every command's start by 30 ms

    with app.open(read_only=True) as db:
        with terminal_progress("export") as step:
            written = export_parquet(db, out, with_notes=with_notes, buckets=buckets, progress=step)
    for path, count in written:
        click.echo(f"{path}: {count} rows")


@click.command()
@click.option("--size", required=True, type=click.IntRange(1000), help="About how many records (call legs and visits).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(7), help="How many days from --start.")
@click.option("--start", default="2025-10-01", show_default=True, type=date_type)
@click.option("--seed", default=42, show_default=True, type=int)
@handle_errors
def synth(size: int, out: Path, days: int, start, seed: int) -> None:
    """Write synthetic ward-scale exports (Asterisk CSVs, reception logs) with planted patterns.

    The folder is laid out as a nightly inbox: calls/, visits/, departments.csv, planted.toml.

    \b
    Example:
        kasuhara synth --size 1000000 --out /tmp/ward
        kasuhara nightly --inbox /tmp/ward --settle 0
    """
    from ..synth import synthesize

    with terminal_progress("synth") as step:
        report = synthesize(size, out, days=days, start=start.date(), seed=seed, progress=step)
    click.echo(
        f"{out}: {report.call_rows} call legs and {report.visit_rows} visits over {report.days} days, "
        f"{report.requesters} requesters, {len(report.planted)} planted patterns (planted.toml)"
    )
