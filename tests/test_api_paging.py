"""Paging helpers: date windows, page numbers, the lastId cursor, a repeating server."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from lib.api import (
    ClientConfig,
    IndigitallClient,
    PagingError,
    date_windows,
    iter_cursor,
)


@pytest.mark.parametrize("days", [1, 7, 30, 99])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2025, 12, 30), date(2026, 1, 2)),
        (date(2026, 2, 1), date(2026, 2, 1)),
    ],
)
def test_windows_cover_range_without_gap_or_overlap(start, end, days):
    windows = date_windows(start, end, days)
    assert windows[0][0] == start and windows[-1][1] == end
    for lo, hi in windows:
        assert lo <= hi and (hi - lo).days + 1 <= days
    for (_, hi), (lo, _) in zip(windows, windows[1:], strict=False):
        assert lo == hi + timedelta(days=1)
    covered = sum((hi - lo).days + 1 for lo, hi in windows)
    assert covered == (end - start).days + 1


def test_windows_empty_and_invalid():
    assert date_windows(date(2026, 1, 2), date(2026, 1, 1), 7) == []
    with pytest.raises(ValueError):
        date_windows(date(2026, 1, 1), date(2026, 1, 2), 0)


def paged_client(total: int, *, repeat: bool = False) -> tuple[IndigitallClient, list[dict]]:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        seen.append(q)
        limit, page = int(q["limit"]), int(q["page"])
        if repeat:
            page = 0
        items = [{"id": i} for i in range(page * limit, min(total, (page + 1) * limit))]
        return httpx.Response(200, json={"statusCode": 200, "message": "OK", "count": total, "data": items})

    client = IndigitallClient(
        "https://x.test",
        "k" * 36,
        config=ClientConfig(rate_limit=None),
        transport=httpx.MockTransport(handler),
    )
    return client, seen


@pytest.mark.parametrize(("total", "limit", "calls"), [(0, 10, 1), (5, 10, 1), (10, 10, 2), (25, 10, 3)])
def test_pages_until_short_or_empty(total, limit, calls):
    client, seen = paged_client(total)
    pages = list(client.campaigns("100274", limit=limit))
    assert len(pages) == calls
    assert [int(q["page"]) for q in seen] == list(range(calls))
    assert sum(p.size for p in pages) == total


def test_repeating_server_is_detected():
    client, seen = paged_client(50, repeat=True)
    got = []
    with pytest.raises(PagingError, match="identical"):
        for page in client.campaigns("100274", limit=10):
            got.append(page)
    assert len(got) == 1 and len(seen) == 2


def test_cursor_pages_and_stops():
    rows = list(range(1, 2501))

    def fetch(cursor):
        start = 0 if cursor is None else rows.index(cursor) + 1
        return rows[start : start + 1000]

    pages = list(iter_cursor(fetch, limit=1000, ids_of=lambda r: r))
    assert [len(p) for p in pages] == [1000, 1000, 500]
    resumed = list(iter_cursor(fetch, limit=1000, ids_of=lambda r: r, start=2000))
    assert [len(p) for p in resumed] == [500]


def test_cursor_that_does_not_advance_is_detected():
    with pytest.raises(PagingError, match="lastId"):
        list(iter_cursor(lambda c: [1, 2, 3], limit=3, ids_of=lambda r: r))


def test_contacts_use_last_id():
    seen: list[dict] = []

    def handler(request):
        q = dict(request.url.params)
        seen.append(q)
        last = int(q.get("lastId", 0))
        items = [{"id": i} for i in range(last + 1, min(last + int(q["limit"]), 2500) + 1)]
        return httpx.Response(200, json={"statusCode": 200, "message": "OK", "data": items})

    client = IndigitallClient(
        "https://x.test",
        "k" * 36,
        config=ClientConfig(rate_limit=None),
        transport=httpx.MockTransport(handler),
    )
    pages = list(client.contacts("100274"))
    assert [p.size for p in pages] == [1000, 1000, 500]
    assert "lastId" not in seen[0] and seen[1]["lastId"] == "1000" and seen[2]["lastId"] == "2000"
    assert all("page" not in q for q in seen)
