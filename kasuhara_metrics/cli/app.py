"""What every command shares: the database and site options, output formats, error mapping."""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ..common.cells import as_text_cell
from ..common.db import Database, connect, default_db_path
from ..common.errors import DatabaseBusy, KasuharaError
from ..common.identity import check_secret, secret_path_for
from ..common.judged_folder import refuse_writing_to_judged_folder
from ..common.lock import RunLock
from ..common.outcomes import EXIT_CODES, Outcome
from ..common.site import SiteSettings, resolve_site
from ..common.vault import vault_path
from ..judge.store import last_run
from ..rules import Profile, default_profile_path, find_profile, load_profile, profile_site

# Exit codes, documented in the README: cron and systemd tell them apart.
EXIT_FAILURE = EXIT_CODES[Outcome.FAILED]
EXIT_BUSY = EXIT_CODES[Outcome.BUSY]


@dataclass
class AppContext:
    db_path: str
    site_path: str | None
    timezone: str | None
    # --profile of the command, else $KASUHARA_PROFILE, else the shipped default (thresholds/bunkyo.toml)
    profile_path: str | None = None

    def use_profile(self, path: str | None) -> None:
        """The command's --profile: its [site] table is part of the site settings of every command."""
        self.profile_path = path or self.profile_path

    def profile(self) -> Profile:
        """The profile, judging with the one site settings of this command (see site())."""
        profile = load_profile(self.profile_path)
        return replace(profile, site=resolve_site(profile.site, self.site_path, self.timezone))

    def profile_that_judged(self, db: Database) -> Profile:
        """The profile of a command that reads stored flags (report, explain, evidence): the one named
        (--profile, $KASUHARA_PROFILE), else the one that made the flags, so that a ward's page speaks
        its own policy's words; the default before any run."""
        if self.profile_path or os.environ.get("KASUHARA_PROFILE"):
            return self.profile()
        run = last_run(db)
        judged_by = run.profile_name if run else None
        for candidate in (run.profile_path, run.profile_name) if run else ():
            if find_profile(candidate).is_file():
                self.profile_path = candidate  # its [site] too, for the rest of the command
                profile = self.profile()
                if profile.name == judged_by:
                    return profile
        self.profile_path = None
        return self.profile()

    def site(self) -> SiteSettings:
        """Defaults, the profile's [site], the site file (--site), --timezone: resolved once, the same for
        every command (site.resolve_site)."""
        path = self.profile_path or os.environ.get("KASUHARA_PROFILE") or str(default_profile_path())
        base = profile_site(path) if find_profile(path).is_file() else SiteSettings()
        return resolve_site(base, self.site_path, self.timezone)

    def open(self, *, read_only: bool = False, writer: str = "kasuhara", wait_seconds: float = 0) -> Database:
        """Readers open read-only. A writer first takes the run lock (another writer: stop at once),
        then waits up to `wait_seconds` for read-only sessions to let go of the file."""
        timezone = self.site().timezone
        if read_only:
            return _checked(connect(self.db_path, read_only=True, timezone=timezone))
        refuse_writing_to_judged_folder(self.db_path)  # before a lock file appears beside it
        lock = RunLock(self.db_path).acquire(writer)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                db = connect(self.db_path, timezone=timezone)
            except DatabaseBusy:
                if time.monotonic() >= deadline:
                    lock.release()
                    raise
                time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
            except BaseException:
                lock.release()
                raise
            else:
                db.on_close = lock.release
                return _checked(db)

    def files_not_yet_created(self) -> list[Path]:
        """The files a first write creates here (database, WAL, vault, secret file, run lock) that do not
        exist yet: what `discard_if_nothing_stored` removes after a first ingest that stored nothing."""
        if self.db_path == ":memory:":
            return []
        candidates = [Path(self.db_path), Path(f"{self.db_path}.wal"), RunLock(self.db_path).path]
        if (vault := vault_path(self.db_path)) is not None:
            candidates.append(vault)
        if not os.environ.get("KASUHARA_SECRET"):
            candidates.append(secret_path_for(self.db_path))
        return [path for path in candidates if not path.exists()]


def discard_if_nothing_stored(created: list[Path], db_path: str) -> None:
    """Remove the files of a database this command created, when it holds no file: a first ingest that
    failed leaves no empty database, and no secret that a later run with the site's real one would refuse."""
    if Path(db_path) not in created or not Path(db_path).exists():
        return
    import duckdb

    try:
        with duckdb.connect(db_path, read_only=True) as con:
            (files,) = con.execute("SELECT count(*) FROM ingest_log").fetchone() or (1,)
    except duckdb.Error:
        return  # not a database this command can judge empty: leave it for a person
    if files == 0:
        for path in created:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _checked(db: Database) -> Database:
    """The database, once the secret in reach (if any) is known to be its own."""
    try:
        check_secret(db)
    except BaseException:
        db.close()
        raise
    return db


pass_app = click.make_pass_decorator(AppContext)

# A day as options take it: 2026-09-01.
date_type = click.DateTime(formats=["%Y-%m-%d"])


profile_option = click.option(
    "--profile",
    "profile_path",
    envvar="KASUHARA_PROFILE",
    metavar="PROFILE",
    help="Threshold profile: a TOML file, or a shipped profile by name (bunkyo, setagaya). Default: bunkyo. "
    "Env: KASUHARA_PROFILE.",
)


def db_options(function: Callable) -> Callable:
    """--db, --site and --timezone, accepted by the top-level group."""
    function = click.option(
        "--timezone",
        envvar="KASUHARA_TZ",
        help="Site time zone for naive export times (default Asia/Tokyo, or the site file's).",
    )(function)
    function = click.option(
        "--site",
        "site_path",
        envvar="KASUHARA_SITE",
        type=click.Path(dir_okay=False),
        help="TOML file with a [site] table (time zone, internal numbers, business calendar). Env: KASUHARA_SITE.",
    )(function)
    function = click.option(
        "--db",
        "db_path",
        envvar="KASUHARA_DB",
        default=default_db_path,
        show_default="./kasuhara.duckdb",
        help="DuckDB database file. Env: KASUHARA_DB.",
    )(function)
    return function


format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


def handle_errors(function: Callable) -> Callable:
    """Turn this package's errors into one-line `Error: ...` messages and exit codes."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DatabaseBusy as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_BUSY)
        except KasuharaError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, int) and value.bit_length() > 63:
        return str(value)
    return value


# A table shows a list's first items only: a year-long flag's evidence holds thousands of ids, which
# folded into a column took hundreds of lines per flag (`flags --wide` of a 10M-record year's week:
# 628k lines in 72 s). CSV and JSON carry every item.
TABLE_LIST_ITEMS = 10


def _cell(value: Any) -> str:
    """Table cells: times in the site zone to the second, lists joined (their first items)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        shown = ", ".join(map(_cell, value[:TABLE_LIST_ITEMS]))
        more = len(value) - TABLE_LIST_ITEMS
        return f"{shown}, ... ({more:,} more: --format csv lists all)" if more > 0 else shown
    return str(_plain(value))


def emit_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    output_format: str,
    title: str | None = None,
    *,
    empty: str | None = None,
    wrap: Collection[str] = (),
    narrow: Callable[[Sequence[str]], str] | None = None,
) -> None:
    """Print rows as a rich table, CSV or a JSON array.

    `empty` is what a table says when there are no rows (CSV and JSON stay machine-readable: a header,
    or []). Columns named in `wrap` break over lines to fit the terminal; ids, keys and times never do.
    On a terminal too narrow for that, `narrow` gives each row's text (its cells as the table shows them),
    and the header's from the column names.
    """
    if output_format == "json":
        click.echo(
            json.dumps(
                [dict(zip(columns, map(_plain, row), strict=True)) for row in rows], ensure_ascii=False, indent=2
            )
        )
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
        return
    if not rows and empty:
        if title:
            click.echo(title)
        click.echo(empty)
        return
    from rich.console import Console
    from rich.table import Table

    cells = [[_cell(v) for v in row] for row in rows]
    table = Table(title=title, show_lines=False)
    for number, column in enumerate(columns):
        longest = max((len(row[number]) for row in cells), default=0)
        if column in wrap:
            table.add_column(str(column), overflow="fold")
        elif longest > _WRAP_AT:
            table.add_column(str(column), overflow="fold", max_width=_WRAP_AT)
        else:
            # Ids, keys and times never break: they must stay copyable.
            table.add_column(str(column), no_wrap=True)
    for row in cells:
        table.add_row(*row)
    console = Console()
    measured = console.measure(table, options=console.options.update_width(10_000))
    if narrow is not None and measured.minimum > console.width:
        if title:
            click.echo(title)
        for row in [list(columns), *cells]:
            click.echo(narrow(row))
        return
    if wrap:
        # Fit the terminal by wrapping the wrappable columns; wider only when the rest cannot fit.
        width = max(console.width, measured.minimum)
    else:
        width = max(100, console.width, measured.maximum)
    Console(width=width).print(table)


def counted(number: int, noun: str) -> str:
    """'1 flag', '3 flags', '0 flags' (English nouns with a plain plural only)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _csv_cell(value: Any) -> Any:
    """A CSV cell: lists as ';'-joined values (ids hold no ';'), text never a spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return as_text_cell(";".join("" if v is None else str(_plain(v)) for v in value))
    return as_text_cell(_plain(value))


_WRAP_AT = 60
