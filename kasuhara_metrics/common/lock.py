"""One writer at a time: a lock file beside the database that says who holds it.

DuckDB itself lets one process write a database file; this lock comes first so that a second
nightly run stops at once with a clear message ("another run, PID 1234, since 02:00"), while a
database kept busy by readers (analysts' read-only connections) is waited for instead. The operating
system releases the lock when its holder dies, so a killed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from .errors import DatabaseBusy


class RunLock:
    def __init__(self, db_path: str):
        self.path = Path(f"{db_path}.lock")
        self._handle: TextIO | None = None

    def acquire(self, what: str) -> RunLock:
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DatabaseBusy(
                f"{self.path.with_suffix('')} is being changed by another kasuhara run ({holder}) - "
                "this run stops without changing anything; run it again when that one has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what}, PID {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
