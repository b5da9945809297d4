"""`kasuhara ingest calls|visits|departments FILE...`"""

from __future__ import annotations

import os
import sys

import click

from ..ingest import IngestOptions, IngestReport, ingest_files
from ..ingest.check import check_files
from ..ingest.sources.mapped import load_mapping
from .app import EXIT_FAILURE, AppContext, discard_if_nothing_stored, emit_rows, handle_errors, pass_app

encoding_option = click.option(
    "--encoding",
    default="auto",
    show_default=True,
    help="Text encoding of the files: auto (UTF-8 with or without BOM, else CP932), utf-8, cp932, ...",
)
force_option = click.option(
    "--force", is_flag=True, help="Read files again even if the same content was ingested before."
)
check_option = click.option(
    "--check",
    is_flag=True,
    help="Show how the files would be read (format, clock, first rows as stored, rejects) and write nothing.",
)


def ingest_command(function):
    """FILES..., --encoding, --force, --check, the app context and error mapping: what every ingest command takes."""
    for decorator in (
        handle_errors,
        pass_app,
        check_option,
        force_option,
        encoding_option,
        click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False)),
    ):
        function = decorator(function)
    return ingest.command()(function)


@click.group()
def ingest() -> None:
    """Read export files into the database. Every row is kept, counted as a duplicate, or rejected with its reason."""


def _run(app: AppContext, kind: str, files: tuple[str, ...], options: IngestOptions, check: bool = False) -> None:
    if check:
        if options.force:
            raise click.UsageError("Use just one of --check or --force: a check writes nothing")
        _check(app, kind, files, options)
        return
    _ingest(app, kind, files, options)


def _check(app: AppContext, kind: str, files: tuple[str, ...], options: IngestOptions) -> None:
    report = check_files(kind, list(files), options, app.db_path)
    for check in report.files:
        if check.result is None:  # it could not be read: the failure says why
            click.echo(f"Error: {check.failure}", err=True)
            continue
        click.echo(check.result.summary())
        emit_rows(check.columns, check.rows, "table", title=f"the first rows as they would be stored ({check.path})")
        for line, reason in check.rejects:
            click.echo(f"  line {line} would be rejected: {reason}")
    if report.secret_note:
        click.echo(f"note: {report.secret_note}")
    click.echo("check only: nothing was written")
    if any(check.failure for check in report.files):
        sys.exit(EXIT_FAILURE)


def _ingest(app: AppContext, kind: str, files: tuple[str, ...], options: IngestOptions) -> None:
    created = app.files_not_yet_created()
    try:
        report = _ingest_with_progress(app, kind, files, options)
    finally:
        discard_if_nothing_stored(created, app.db_path)
    for result in report.files:
        click.echo(result.summary())
    if report.contacts is not None:
        click.echo(f"contacts rebuilt: {report.contacts}")
    for failure in report.failures:
        click.echo(f"Error: {failure}", err=True)
    if report.failures:
        sys.exit(EXIT_FAILURE)


def _ingest_with_progress(app: AppContext, kind: str, files: tuple[str, ...], options: IngestOptions) -> IngestReport:
    from .progress import might_be_terminal, progress_bar

    if not might_be_terminal():  # cron: no bar to draw, and rich is not even imported
        with app.open() as db:
            return ingest_files(db, kind, list(files), options)
    from rich.console import Console

    sizes = {path: os.path.getsize(path) if os.path.isfile(path) else 0 for path in files}
    done_before: dict[str, int] = {}
    with app.open() as db:
        # A bar over the bytes of all files; shown on a terminal only (cron logs stay clean).
        with progress_bar(Console(stderr=True)) as progress:
            task = progress.add_task("starting", total=max(1, sum(sizes.values())))

            def step(path: str, stage: str, fraction: float) -> None:
                if path and path not in done_before:
                    done_before[path] = sum(sizes[p] for p in done_before)
                completed = done_before.get(path, sum(sizes.values())) + fraction * sizes.get(path, 0)
                progress.update(task, description=f"{stage} {os.path.basename(path)}".strip(), completed=completed)

            return ingest_files(db, kind, list(files), options, step)


@ingest_command
@click.option(
    "--mapping", type=click.Path(dir_okay=False), help="TOML file mapping another phone system's CSV columns."
)
def calls(
    app: AppContext, files: tuple[str, ...], mapping: str | None, encoding: str, force: bool, check: bool
) -> None:
    """Ingest call detail records, each file recognised by its content.

    Built in: Asterisk Master.csv (any cdr_csv or cdr_custom layout), FreeSWITCH mod_cdr_csv, Cisco
    CUCM CDR files, 3CX cdr.log, Amazon Connect contact records (JSON) and Twilio call logs. Other
    systems: a mapping file (--mapping).

    \b
    Example:
        kasuhara ingest calls /var/log/asterisk/cdr-csv/Master.csv
        kasuhara ingest calls --check cdr_StandAloneCluster_01_202609010100_1
        kasuhara ingest calls --mapping data/samples/mapping-example.toml data/samples/pbx/calls-cp932.csv
    """
    if mapping and encoding != "auto":
        raise click.UsageError("Use just one of --mapping or --encoding: the mapping file names the encoding")
    options = IngestOptions(
        site=app.site(), encoding=encoding, mapping=load_mapping(mapping) if mapping else None, force=force
    )
    _run(app, "calls", files, options, check)


@ingest_command
def visits(app: AppContext, files: tuple[str, ...], encoding: str, force: bool, check: bool) -> None:
    """Ingest reception/counter logs (visits CSV, see docs/ingest.md).

    \b
    Example:
        kasuhara ingest visits data/samples/visits/visits-2026-09.csv
    """
    _run(app, "visits", files, IngestOptions(site=app.site(), encoding=encoding, force=force), check)


@ingest_command
def departments(app: AppContext, files: tuple[str, ...], encoding: str, force: bool, check: bool) -> None:
    """Ingest the CSV `number,department` that maps dialled extensions and DIDs to departments.

    \b
    Example:
        kasuhara ingest departments data/samples/departments.csv
    """
    _run(app, "departments", files, IngestOptions(site=app.site(), encoding=encoding, force=force), check)
