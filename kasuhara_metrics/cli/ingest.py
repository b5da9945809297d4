"""`kasuhara ingest calls|visits|departments FILE...`"""

from __future__ import annotations

import os
import sys

import click

from ..ingest import IngestOptions, ingest_files
from ..ingest.sources.mapped import load_mapping
from .common import EXIT_FAILURE, AppContext, handle_errors, pass_app

encoding_option = click.option(
    "--encoding",
    default="auto",
    show_default=True,
    help="Text encoding of the files: auto (UTF-8 with or without BOM, else CP932), utf-8, cp932, ...",
)
force_option = click.option(
    "--force", is_flag=True, help="Read files again even if the same content was ingested before."
)


def ingest_command(function):
    """FILES..., --encoding, --force, the app context and error mapping: what every ingest command takes."""
    for decorator in (handle_errors, pass_app, force_option, encoding_option,
                      click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))):
        function = decorator(function)
    return ingest.command()(function)


@click.group()
def ingest() -> None:
    """Read export files into the database. Every row is kept, counted as a duplicate, or rejected with its reason."""


def _run(app: AppContext, kind: str, files: tuple[str, ...], options: IngestOptions) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    sizes = {path: os.path.getsize(path) if os.path.isfile(path) else 0 for path in files}
    done_before: dict[str, int] = {}
    with app.open() as db:
        # A bar over the bytes of all files; shown on a terminal only (cron logs stay clean).
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("starting", total=max(1, sum(sizes.values())))

            def step(path: str, stage: str, fraction: float) -> None:
                if path and path not in done_before:
                    done_before[path] = sum(sizes[p] for p in done_before)
                completed = done_before.get(path, sum(sizes.values())) + fraction * sizes.get(path, 0)
                progress.update(task, description=f"{stage} {os.path.basename(path)}".strip(), completed=completed)

            report = ingest_files(db, kind, list(files), options, step)
    for result in report.files:
        click.echo(result.summary())
    if report.contacts is not None:
        click.echo(f"contacts rebuilt: {report.contacts}")
    for failure in report.failures:
        click.echo(f"Error: {failure}", err=True)
    if report.failures:
        sys.exit(EXIT_FAILURE)


@ingest_command
@click.option("--mapping", type=click.Path(dir_okay=False), help="TOML file mapping another phone system's CSV columns.")
def calls(app: AppContext, files: tuple[str, ...], mapping: str | None, encoding: str, force: bool) -> None:
    """Ingest call detail records: Asterisk Master.csv (any layout) or a mapped CSV.

    \b
    Example:
        kasuhara ingest calls /var/log/asterisk/cdr-csv/Master.csv
        kasuhara ingest calls --mapping data/samples/mapping-example.toml data/samples/pbx/calls-cp932.csv
    """
    if mapping and encoding != "auto":
        raise click.UsageError("Use just one of --mapping or --encoding: the mapping file names the encoding")
    options = IngestOptions(site=app.site(), encoding=encoding, mapping=load_mapping(mapping) if mapping else None, force=force)
    _run(app, "calls", files, options)


@ingest_command
def visits(app: AppContext, files: tuple[str, ...], encoding: str, force: bool) -> None:
    """Ingest reception/counter logs (visits CSV, see docs/ingest.md).

    \b
    Example:
        kasuhara ingest visits data/samples/visits/visits-2026-09.csv
    """
    _run(app, "visits", files, IngestOptions(site=app.site(), encoding=encoding, force=force))


@ingest_command
def departments(app: AppContext, files: tuple[str, ...], encoding: str, force: bool) -> None:
    """Ingest the CSV `number,department` that maps dialled extensions and DIDs to departments.

    \b
    Example:
        kasuhara ingest departments data/samples/departments.csv
    """
    _run(app, "departments", files, IngestOptions(site=app.site(), encoding=encoding, force=force))
