"""Items produced by a thread ahead of their consumer: the next files read while a batch is stored.

Reading (Python and Arrow) and storing (DuckDB, which lets go of the GIL) overlap instead of
taking turns. What waits is bounded by count and by weight (bytes of input), so that files read
ahead never hold more memory than a batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from queue import Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")


def read_ahead(
    items: Iterator[T], depth: int, weigh: Callable[[T], int] = lambda _item: 0, budget: int = 0
) -> Generator[T, None, None]:
    """The items of `items`, in order, produced by a thread ahead of the consumer: up to `depth`
    items, and (when `weigh` gives sizes) up to `budget` of their weight, whichever ends first.
    One item is always let through, however heavy."""
    queue: Queue[tuple[str, Any, int]] = Queue(maxsize=depth)
    stop = threading.Event()
    room = threading.Condition()
    waiting = 0  # the weight handed over and not yet taken

    def put(message: tuple[str, Any, int]) -> bool:
        """Hand a message over, unless the consumer has stopped; whether it was handed over."""
        nonlocal waiting
        with room:
            while waiting and waiting + message[2] > budget and not stop.is_set():
                room.wait(0.1)
            waiting += message[2]
        while not stop.is_set():
            try:
                queue.put(message, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item, weigh(item))):
                    return
            put(("end", None, 0))
        except BaseException as exc:  # a bug in reading: raised where the items are consumed
            put(("error", exc, 0))

    producer = threading.Thread(target=produce, name="kasuhara-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            tag, value, weight = queue.get()
            with room:
                waiting -= weight
                room.notify()
            if tag == "end":
                return
            if tag == "error":
                raise value
            yield value
    finally:
        stop.set()  # the consumer stopped early (an error while storing): let the reader go
        producer.join()
