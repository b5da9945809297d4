"""`kasuhara query`, `lookup`, `status` and `migrate`: the analysts' read-only surface and upkeep."""

from __future__ import annotations

import click

from ..common.db import migrate as migrate_schema
from ..desk.analytics import list_rejects, lookup_number, run_query, status_counts
from .app import AppContext, emit_rows, format_option, handle_errors, pass_app


@click.command()
@click.argument("sql")
@format_option
@pass_app
@handle_errors
def query(app: AppContext, sql: str, output_format: str) -> None:
    """Run SQL against the database, opened read-only.

    \b
    Views (columns in docs/views.md):
      contacts, requesters        what the rules judge: one row per contact, per requester
      calls, visits               the records kept, one row per call leg or visit
      flags, flag_evidence        the latest judge run's flags, the contacts behind each
      reviews                     decisions on flags, oldest first
      reveals                     each time a phone number was put on an evidence file
      judge_runs, rule_runs       what judged, and how each rule did
      runs                        one row per `kasuhara nightly`
      ingest_log, rejects         the files read, and the rows that could not be used
      departments                 the departments list

    \b
    Example:
        kasuhara query "SELECT department, count(*) FROM contacts GROUP BY ALL"
    """
    with app.open(read_only=True) as db:
        columns, rows = run_query(db, sql)
    emit_rows(columns, rows, output_format, empty="(no rows)")


@click.command()
@click.argument("number")
@format_option
@pass_app
@handle_errors
def lookup(app: AppContext, number: str, output_format: str) -> None:
    """Show the pseudonym of a phone number (needs the site secret: authorised users only).

    \b
    Example:
        kasuhara lookup 090-1234-5678
    """
    with app.open(read_only=True) as db:
        columns, rows = lookup_number(db, number, app.site())
    emit_rows(columns, rows, output_format)


@click.command()
@format_option
@pass_app
@handle_errors
def status(app: AppContext, output_format: str) -> None:
    """Summarise what the database holds: files, rows, contacts, requesters.

    \b
    Example:
        kasuhara status
    """
    with app.open(read_only=True) as db:
        columns, rows = status_counts(db)
    emit_rows(columns, rows, output_format, title=f"kasuhara database {app.db_path}")


@click.command()
@pass_app
@handle_errors
def migrate(app: AppContext) -> None:
    """Create the database, or upgrade its schema in place to this version.

    \b
    Example:
        kasuhara --db /var/lib/kasuhara/kasuhara.duckdb migrate
    """
    with app.open() as db:
        version = migrate_schema(db)
    click.echo(f"{app.db_path}: schema version {version}")


@click.command()
@click.option("--file", "file_id", type=int, help="Only the rejects of this file (ingest_log.file_id).")
@click.option(
    "--reveal",
    is_flag=True,
    help="Show each line as written, from the vault (operators only: it may hold numbers and names).",
)
@format_option
@pass_app
@handle_errors
def rejects(app: AppContext, file_id: int | None, reveal: bool, output_format: str) -> None:
    """List the rows that could not be used, with their file, line and reason.

    The lines themselves are in the vault beside the database; --reveal shows them, so that an
    operator can correct them and send them again.

    \b
    Example:
        kasuhara rejects --file 3 --reveal
    """
    with app.open(read_only=True) as db:
        columns, rows = list_rejects(db, file_id=file_id, reveal=reveal)
    emit_rows(columns, rows, output_format, empty="No rejects" + (f" in file {file_id}." if file_id else "."))
