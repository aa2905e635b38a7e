"""The one clock of the platform: `now()` (UTC) and `today(tz)`; tests and benchmarks set BI_CLOCK_NOW.

`BI_CLOCK_NOW` is an ISO timestamp (`2026-03-01T06:00:00Z`; without an offset it is UTC). Set, the
clock stands still at that instant (a benchmark moves it between runs to fast-forward a schedule);
unset, it is the system's. Production code reads the time only through here; durations keep using
`time.perf_counter()`/`monotonic()`.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CLOCK_ENV = "BI_CLOCK_NOW"


def parse_instant(value: str) -> datetime:
    """An ISO timestamp as an aware UTC datetime (naive means UTC); ValueError names the setting."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{CLOCK_ENV} must be an ISO timestamp such as 2026-03-01T06:00:00Z, got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def now() -> datetime:
    """The current instant (UTC, aware): BI_CLOCK_NOW when set, else the system clock."""
    override = os.environ.get(CLOCK_ENV)
    if override:
        return parse_instant(override)
    return datetime.now(UTC)


def today(tz: str | ZoneInfo = "UTC") -> date:
    """The local date in time zone `tz` (an IANA name or ZoneInfo) at `now()`."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return now().astimezone(zone).date()


def is_overridden() -> bool:
    """True when BI_CLOCK_NOW sets the time (tests, benchmarks)."""
    return bool(os.environ.get(CLOCK_ENV))
