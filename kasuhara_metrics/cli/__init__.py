"""The `kasuhara` command: a thin layer over the library. One module per command group."""

from __future__ import annotations

import os

import click

from .. import __version__
from .app import AppContext, db_options
from .evidence import evidence, preserve
from .ingest import ingest
from .judge import explain, flags, judge
from .nightly import export, nightly, review, synth
from .query import lookup, migrate, query, rejects, status
from .report import report
from .thresholds import thresholds

PRIVATE_UMASK = 0o027


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kasuhara")
@db_options
@click.pass_context
def main(ctx: click.Context, db_path: str, site_path: str | None, timezone: str | None) -> None:
    """Judge 拘束 and 繰り返し patterns in a ward's call and visit logs.

    Flags are leads for a person to review, never verdicts.

    \b
    Example:
        kasuhara ingest departments data/samples/departments.csv
        kasuhara ingest calls data/samples/asterisk/*.csv
        kasuhara judge
        kasuhara flags
    """
    # What the commands write (the database, exports, reports) is for its owner and group only: at
    # most 0640, stricter where the umask says so; the vault and the secret are 0600 (vault.py).
    os.umask(os.umask(0) | PRIVATE_UMASK)
    ctx.obj = AppContext(db_path=db_path, site_path=site_path, timezone=timezone)


main.add_command(ingest)
main.add_command(query)
main.add_command(lookup)
main.add_command(status)
main.add_command(rejects)
main.add_command(migrate)
main.add_command(judge)
main.add_command(flags)
main.add_command(explain)
main.add_command(thresholds)
main.add_command(nightly)
main.add_command(review)
main.add_command(export)
main.add_command(report)
main.add_command(evidence)
main.add_command(preserve)
main.add_command(synth)
