"""How far long work has got, told to whoever shows it: the CLI draws a bar on a terminal, cron sees nothing.

Library functions take a `Step` and call it as they go: what they are doing, how much of it is
done, and of how much (None when not known). They never print.
"""

from __future__ import annotations

from collections.abc import Callable

Step = Callable[[str, int, int | None], None]


def silent(_what: str, _done: int, _total: int | None) -> None:
    """Nobody is watching (cron, tests, the notebook)."""
