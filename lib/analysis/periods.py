"""Honest periods: windows end at the last complete local day, "datos al …", partial days.

`public.data_coverage` (written by the extract; contract "Coverage of local days") says which local
dates are complete; without it the last complete day is yesterday (tenant-local) capped at the last
date with data, and only today is partial. Every surface (Dash, Voila, the report) uses this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lib.analysis.fmt import fmt_date, fmt_datetime
from lib.analysis.kpis import Fetch
from lib.dates import to_date_or_none

CHAT_ENTITIES = ("messages", "chat_conversations")
PUSH_ENTITIES = ("toques_daily",)


def now_utc() -> datetime:
    """The current time: `lib.clock.now()` (tests and benchmarks set BI_CLOCK_NOW)."""
    from lib.clock import now

    return now()


def local_today(tz: str) -> date:
    """Today in the tenant's zone."""
    return now_utc().astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class Freshness:
    """What the tenant's data cover, for headers, presets and partial-day marks."""

    tz: str
    today: date
    data_through: datetime | None = None  # latest loaded data (coverage.loaded_through, else max message)
    last_run: datetime | None = None  # last successful pipeline run
    first_date: date | None = None
    last_date: date | None = None  # last date with data
    complete_from: date | None = None  # from data_coverage (None: unknown)
    complete_to: date | None = None
    has_coverage: bool = False
    entities: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def last_complete_day(self) -> date:
        """Where presets end by default: the last complete local day."""
        yesterday = self.today - timedelta(days=1)
        if self.complete_to is not None:
            return min(self.complete_to, yesterday)
        if self.last_date is not None:
            return min(self.last_date, yesterday)
        return yesterday

    def is_partial(self, d: date) -> bool:
        """A date whose data are not complete (today; outside the coverage when it is known)."""
        if d >= self.today:
            return True
        if self.has_coverage and self.complete_from is not None and self.complete_to is not None:
            return not (self.complete_from <= d <= self.complete_to)
        return self.last_date is not None and d > self.last_date

    def partial_days(self, start: date, end: date) -> list[date]:
        return [
            start + timedelta(days=i)
            for i in range((end - start).days + 1)
            if self.is_partial(start + timedelta(days=i))
        ]

    def label(self) -> str:
        """'Datos al 15 de marzo de 2026, 23:58 (hora local) · última actualización: …'."""
        if self.data_through is None:
            head = "Sin datos cargados"
        else:
            head = f"Datos al {fmt_datetime(self.data_through, self.tz, long=True)} (hora local)"
        run = (
            f"última actualización: {fmt_datetime(self.last_run, self.tz, long=True)}"
            if self.last_run is not None
            else "sin ejecuciones exitosas"
        )
        return f"{head} · {run}"

    def complete_label(self) -> str:
        return f"último día completo: {fmt_date(self.last_complete_day, long=True)}"


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return _ts(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    return to_date_or_none(value)


def freshness(fetch: Fetch, tz: str, entities: tuple[str, ...] = CHAT_ENTITIES) -> Freshness:
    """The tenant's freshness; each part degrades to unknown when its table is missing or unreadable."""
    fresh: dict[str, Any] = {}
    try:
        rows = fetch("kpi_freshness", {})
        fresh = rows[0] if rows else {}
    except Exception:  # marts not built yet: nothing is known
        fresh = {}
    last_run = None
    try:
        rows = fetch("kpi_last_run", {})
        last_run = _ts(rows[0].get("last_success")) if rows else None
    except Exception:  # a login without the ledger (analysis kernels): unknown
        last_run = None
    cov: dict[str, Any] = {}
    try:
        present = fetch("kpi_has_coverage", {})
        if present and present[0].get("present"):
            cov = {r["entity"]: r for r in fetch("kpi_coverage", {})}
    except Exception:  # not granted / not there: the fallback rules apply
        cov = {}
    mine = [cov[e] for e in entities if e in cov]
    complete_from = max((d for r in mine if (d := _day(r.get("complete_from")))), default=None)
    complete_to = min((d for r in mine if (d := _day(r.get("complete_to")))), default=None)
    loaded = [t for r in mine if (t := _ts(r.get("loaded_through")))]
    last_date = _day(fresh.get("last_chat_date")) or _day(fresh.get("last_push_date"))
    if entities == PUSH_ENTITIES:
        last_date = _day(fresh.get("last_push_date"))
    return Freshness(
        tz=tz,
        today=local_today(tz),
        data_through=min(loaded) if loaded else _ts(fresh.get("latest_message")),
        last_run=last_run,
        first_date=_day(fresh.get("first_chat_date")),
        last_date=last_date,
        complete_from=complete_from,
        complete_to=complete_to,
        has_coverage=bool(mine),
        entities=cov,
    )
