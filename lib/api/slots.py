"""Request slots shared by every thread of one client: at most `n` requests in flight, the most
important waiting request first.

The extract stage runs every extractor at once on one client. Without an order, the few large
history pages (the stage's long pole) queue behind dozens of small stats requests and their writes
pile up at the end; served first, they are written while the small requests are still on the wire.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


@contextmanager
def priority(level: int) -> Iterator[None]:
    """Requests made by this thread inside the block wait with `level` (higher goes first; default 0)."""
    previous = getattr(_local, "level", 0)
    _local.level = level
    try:
        yield
    finally:
        _local.level = previous


class PrioritySlots:
    """A counting semaphore whose waiters are served by priority (this thread's `priority()` level),
    in arrival order among equals."""

    def __init__(self, n: int) -> None:
        self._free = max(1, n)
        self._cond = threading.Condition()
        self._waiting: list[tuple[int, int]] = []
        self._seq = itertools.count()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Block until a slot is free and no more important request waits; release on exit."""
        ticket = (-getattr(_local, "level", 0), next(self._seq))
        with self._cond:
            heapq.heappush(self._waiting, ticket)
            while self._free == 0 or self._waiting[0] != ticket:
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            if self._free and self._waiting:
                self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()
