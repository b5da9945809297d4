"""Progress bars on the terminal, on stderr; nothing at all when stderr is no terminal (cron, pipes, logs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..common.progress import Step, silent

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def progress_bar(console: Console) -> Progress:
    """A bar that leaves no trace when done, shown only on a terminal."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@contextmanager
def terminal_progress(title: str) -> Iterator[Step]:
    """A `Step` that draws `title: what` with how much is done, while the block runs."""
    if not might_be_terminal():  # cron: rich is not even imported (40 ms of every start)
        yield silent
        return
    from rich.console import Console

    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task(title, total=None)

        def step(what: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{title}: {what}", completed=done, total=total)

        yield step


def might_be_terminal() -> bool:
    """Whether rich could find stderr a terminal (rich's Console.is_terminal decides); when not,
    rich would draw nothing."""
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):  # rich draws anyway
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except ValueError:  # stderr closed
        return False
