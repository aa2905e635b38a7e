"""Run a page's independent queries at the same time (each on its own pooled connection)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MAX_WORKERS = 8  # <= the reader engine's pool (5 + 5 overflow)


def gather(**calls: Callable[[], Any]) -> dict[str, Any]:
    """{name: result} of zero-argument callables run concurrently; the first error is raised.

    One short-lived executor per call: starting a thread costs microseconds next to a query, and no
    process-wide pool can be left with dead workers (a server thread killed mid-request, a fork)."""
    if not calls:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(calls)), thread_name_prefix="bi-query") as pool:
        futures = {name: pool.submit(fn) for name, fn in calls.items()}
        return {name: fut.result() for name, fut in futures.items()}
