"""Progress bars on the terminal, on stderr; nothing at all when stderr is no terminal (cron, pipes, logs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from ..common.progress import Step


def progress_bar(console: Console) -> Progress:
    """A bar that leaves no trace when done, shown only on a terminal."""
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
    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task(title, total=None)

        def step(what: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{title}: {what}", completed=done, total=total)

        yield step
