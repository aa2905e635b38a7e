"""Date windows: aligned blocks (a re-read asks exactly what was asked before), local days in UTC.

Blocks of n days are aligned to `EPOCH` (a Monday, so 7-day blocks are ISO weeks) and clipped to the
range: the same past week is always requested with the same dateFrom/dateTo, which is what lets an
unchanged re-read be recognised by its response hash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from lib import clock

Window = tuple[date, date]

EPOCH = date(2020, 1, 6)  # a Monday
_DAY = timedelta(days=1)


def clock_now() -> datetime:
    """The current UTC time: `lib.clock.now()` (tests and benchmarks set BI_CLOCK_NOW)."""
    return clock.now()


def aligned_windows(start: date, end: date, days: int) -> list[Window]:
    """`[start, end]` (inclusive) cut at every `days`-day boundary counted from `EPOCH`."""
    if days < 1:
        raise ValueError("a window has at least one day")
    out: list[Window] = []
    lo = start
    while lo <= end:
        block_end = lo + timedelta(days=days - 1 - (lo - EPOCH).days % days)
        hi = min(end, block_end)
        out.append((lo, hi))
        lo = hi + _DAY
    return out


def day_windows(start: date, end: date) -> list[Window]:
    """One window per day of `[start, end]`."""
    return [(start + timedelta(days=i),) * 2 for i in range((end - start).days + 1)]


def local_day_start(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which the tenant's local `day` begins."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def utc_span(start: date, end: date, tz: tzinfo) -> Window:
    """The UTC dates whose data cover the local days `[start, end]` whole."""
    first = local_day_start(start, tz).date()
    last = (local_day_start(end + _DAY, tz) - timedelta(microseconds=1)).date()
    return first, last


def last_local_day_within(start: date, end: date, through: datetime, tz: tzinfo) -> date | None:
    """The last local day of `[start, end]` that has ended by `through` (None when none has)."""
    day = min(end, through.astimezone(tz).date())
    while day >= start and local_day_start(day + _DAY, tz) > through:
        day -= _DAY
    return day if day >= start else None
