"""Paging helpers: page numbers from 0, the contacts `lastId` cursor, and inclusive date windows."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import TypeVar

from lib.api.errors import PagingError

log = logging.getLogger(__name__)

T = TypeVar("T")

HISTORY_WINDOW_DAYS = 7
CONVERSATIONS_WINDOW_DAYS = 30
DEVICE_WINDOW_DAYS = 7
SMS_WINDOW_DAYS = 99


def date_windows(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """Split `[start, end]` (both inclusive) into windows of at most `days` days: no gap, no overlap."""
    if days < 1:
        raise ValueError("a window has at least one day")
    if end < start:
        return []
    windows: list[tuple[date, date]] = []
    lo = start
    while lo <= end:
        hi = min(end, lo + timedelta(days=days - 1))
        windows.append((lo, hi))
        lo = hi + timedelta(days=1)
    return windows


def _fingerprint(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()


def iter_pages(
    fetch: Callable[[int], T],
    *,
    limit: int,
    size_of: Callable[[T], int],
    content_of: Callable[[T], bytes],
    endpoint: str = "",
    max_pages: int = 100_000,
) -> Iterator[T]:
    """Yield pages 0, 1, 2… until a short or empty one (which is yielded too).

    A page byte-identical to the previous non-empty one means the server ignores `page`:
    raise `PagingError` instead of looping (pages already yielded stay valid).
    """
    previous: str | None = None
    for page in range(max_pages):
        result = fetch(page)
        size = size_of(result)
        # Only a full page is followed by another, so only full pages need comparing.
        fingerprint = _fingerprint(content_of(result)) if size >= limit else None
        if fingerprint is not None and fingerprint == previous:
            log.warning("%s: page %d repeats page %d; stopping", endpoint, page, page - 1)
            raise PagingError(
                f"{endpoint}: page {page} is identical to page {page - 1} (server ignores paging?)",
                endpoint=endpoint,
                calls=list(getattr(result, "calls", [])),
            )
        previous = fingerprint
        yield result
        if size < limit:
            return
    raise PagingError(f"{endpoint}: more than {max_pages} pages; stopping", endpoint=endpoint)


def iter_cursor(
    fetch: Callable[[int | None], T],
    *,
    limit: int,
    ids_of: Callable[[T], list[int]],
    start: int | None = None,
    endpoint: str = "",
    max_pages: int = 100_000,
) -> Iterator[T]:
    """Yield pages by the `lastId` cursor (ids ascending) until a short or empty page.

    A cursor that does not move forward (same or lower last id) raises `PagingError`.
    """
    cursor = start
    for _ in range(max_pages):
        result = fetch(cursor)
        ids = ids_of(result)
        if ids and cursor is not None and max(ids) <= cursor:
            log.warning("%s: lastId=%s did not advance; stopping", endpoint, cursor)
            raise PagingError(
                f"{endpoint}: lastId cursor did not advance past {cursor} (server ignores lastId?)",
                endpoint=endpoint,
                calls=list(getattr(result, "calls", [])),
            )
        yield result
        if len(ids) < limit:
            return
        cursor = max(ids)
    raise PagingError(f"{endpoint}: more than {max_pages} pages; stopping", endpoint=endpoint)
