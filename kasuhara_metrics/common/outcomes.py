"""How a command ended, and the exit code cron and systemd see for it.

The library returns an `Outcome`; the CLI exits with `EXIT_CODES[outcome]`. The nightly run also
records that code in `runs`, as the command gave it, so the table is declared once, here.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # nothing of the run was kept, or the input could not be read
    USAGE = "usage"  # the command line was wrong
    REJECTED_ROWS = "rejected_rows"  # done, but rows went to `rejects`
    BUSY = "busy"  # another run holds the database: try again later


EXIT_CODES = {
    Outcome.OK: 0,
    Outcome.FAILED: 1,
    Outcome.USAGE: 2,
    Outcome.REJECTED_ROWS: 3,
    Outcome.BUSY: 75,  # EX_TEMPFAIL
}
