"""Run a page's independent queries at the same time (each on its own pooled connection)."""

from __future__ import annotations

import atexit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MAX_WORKERS = 8  # <= the reader engine's pool (5 + 5 overflow)
_pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="bi-query")
atexit.register(_pool.shutdown, wait=False, cancel_futures=True)


def gather(**calls: Callable[[], Any]) -> dict[str, Any]:
    """{name: result} of zero-argument callables run concurrently; the first error is raised.

    The callables must not call `gather` themselves (no nesting: the pool is bounded)."""
    futures = {name: _pool.submit(fn) for name, fn in calls.items()}
    return {name: fut.result() for name, fut in futures.items()}
