"""Per-entity progress during a run: the range to fetch, the tasks, the cursor and the status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from lib.dates import to_date_or_none
from lib.extract.model import EntitySpec, Outcome, Task, Window, trailing_window
from lib.extract.options import ExtractOptions
from lib.extract.windows import aligned_windows, day_windows, last_local_day_within, local_day_start, utc_span


def parse_date_cursor(value: str | None) -> date | None:
    """An ISO date cursor, or None when absent/unparsable."""
    return to_date_or_none(value)


def resolve_range(
    spec: EntitySpec,
    old_cursor: str | None,
    *,
    today: date,
    options: ExtractOptions,
    date_from: date | None,
    date_to: date | None,
    mode: str,
) -> Window | None:
    """The inclusive date range a dated entity fetches this run (None when there is nothing to do).

    Explicit dates win; else incremental resumes at cursor − lookback; no cursor (or mode=full)
    backfills `backfill_days`. `rule="trailing"` entities always take the last `heatmap_days`.
    """
    end = date_to or today
    if spec.rule == "trailing" and date_from is None:
        return trailing_window(end, options.heatmap_days)
    if date_from is not None:
        start = date_from
    else:
        cursor = parse_date_cursor(old_cursor) if mode == "incremental" else None
        if cursor is None:
            start = end - timedelta(days=options.backfill_days - 1)
        else:
            start = cursor - timedelta(days=options.lookback_days)
    return (start, end) if start <= end else None


@dataclass
class EntityRun:
    """The running state of one entity; `state_row()` is what goes into `public.sync_state`.

    `today` is the entity's current date: the tenant's local date for `local_days` entities (whose
    `range` is then in local days and `span` the UTC dates fetched), else the UTC date. `now` is the
    run's start (UTC), `tz` the tenant's zone.
    """

    spec: EntitySpec
    old_cursor: str | None
    today: date
    now: datetime | None = None
    tz: tzinfo = UTC
    range: Window | None = None
    span: Window | None = None
    tasks: list[Task] = field(default_factory=list)
    pending: int = 0
    calls: int = 0
    records: int = 0
    responses: int = 0
    repeated: int = 0  # identical re-reads, logged but not stored again (set by the writer)
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    done: set[tuple[str, Window | None]] = field(default_factory=set)
    failed: set[tuple[str, Window | None]] = field(default_factory=set)
    last_id: int | None = None
    finished_at: datetime | None = None

    @property
    def raw_rows(self) -> int:
        """Responses stored in raw (identical re-reads excluded)."""
        return self.responses - self.repeated

    @property
    def started(self) -> datetime:
        return self.now or datetime.combine(self.today, time(), UTC)

    def plan(
        self,
        app_ids: list[str],
        options: ExtractOptions,
        *,
        date_from,
        date_to,
        mode,
        sweep: frozenset[str] = frozenset(),
    ) -> None:
        """Build the tasks of this run (`sweep`: applications a cursor entity reads from the start)."""
        spec = self.spec
        if spec.kind == "dated":
            self.range = resolve_range(
                spec,
                self.old_cursor,
                today=self.today,
                options=options,
                date_from=date_from,
                date_to=date_to,
                mode=mode,
            )
            if self.range is None:
                return
            self.span = self.range
            if spec.local_days:  # whole local days; never a UTC date that has not begun
                lo, hi = utc_span(*self.range, self.tz)
                self.span = (lo, min(hi, self.started.astimezone(UTC).date()))
                if self.span[0] > self.span[1]:
                    self.range = self.span = None
                    return
            windows = self._windows(options, mode=mode, explicit=date_from is not None)
            self.tasks = [Task(spec, app, w, primary=app == app_ids[0]) for w in windows for app in app_ids]
        elif spec.kind == "cursor":
            resume = mode == "incremental" and date_from is None and (self.old_cursor or "").isdigit()
            start = int(self.old_cursor or 0) if resume else None
            self.tasks = [
                Task(spec, app, None, None if app in sweep else start, primary=app == app_ids[0])
                for app in app_ids
            ]
        else:
            self.tasks = [Task(spec, app, primary=app == app_ids[0]) for app in app_ids]
        self.pending = len(self.tasks)

    def _windows(self, options: ExtractOptions, *, mode: str, explicit: bool) -> list[Window]:
        """Aligned blocks of `window_days`; in incremental runs the recent days one window per day."""
        assert self.span is not None
        lo, hi = self.span
        days = self.spec.window_days
        if days is None:
            return [self.span]
        resuming = mode == "incremental" and not explicit and parse_date_cursor(self.old_cursor) is not None
        recent = hi + timedelta(days=1)
        if self.spec.split_recent and resuming:
            today_utc = self.started.astimezone(UTC).date()
            recent = max(lo, today_utc - timedelta(days=options.lookback_days + 1))
        return aligned_windows(lo, min(hi, recent - timedelta(days=1)), days) + day_windows(recent, hi)

    # ------------------------------------------------------------- progress
    def record(self, outcome: Outcome) -> None:
        """Account for one finished call."""
        self.calls += len(outcome.calls)
        if outcome.ok:
            self.records += outcome.records
            self.responses += 1
            self.bytes += outcome.bytes
            if outcome.last_id is not None:
                self.last_id = max(self.last_id or 0, outcome.last_id)
        else:
            self.errors.append(outcome.error or "unknown error")

    def task_done(self, task: Task, ok: bool) -> None:
        """Account for one finished task."""
        self.pending -= 1
        (self.done if ok else self.failed).add((task.app_id, task.window))
        if self.pending == 0:
            self.finished_at = datetime.now(UTC)

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        return "running" if self.pending > 0 else "success"

    def cursor(self) -> str | None:
        """Where the data is complete: advances only over successes, never past the sync start."""
        kind = self.spec.kind
        if kind == "cursor":
            old = int(self.old_cursor) if (self.old_cursor or "").isdigit() else None
            values = [v for v in (old, self.last_id) if v is not None]
            return str(max(values)) if values else None
        if kind == "snapshot":
            if self.pending == 0 and not self.failed and self.tasks:
                return self.today.isoformat()
            return self.old_cursor
        return self._date_cursor()

    def _date_cursor(self) -> str | None:
        old = parse_date_cursor(self.old_cursor)
        if self.range is None or not self.tasks:
            return self.old_cursor
        if self.spec.rule == "trailing":
            reached = self.range[1] if self.pending == 0 and not self.failed else None
        else:
            reached = self._range_day(self._contiguous_end())
        if reached is None:
            return self.old_cursor
        reached = min(reached, self.today)
        if old is not None and (self.range[0] > old + timedelta(days=1) or reached <= old):
            return self.old_cursor  # a detached backfill, or no progress beyond the old cursor
        return reached.isoformat()

    def _range_day(self, fetched: date | None) -> date | None:
        """The last day of the range whose data are all fetched, given the fetched span's end."""
        if fetched is None or self.range is None or self.span is None:
            return None
        if fetched >= self.span[1]:
            return self.range[1]
        if not self.spec.local_days:
            return fetched
        day = self.range[1]
        while day >= self.range[0] and utc_span(day, day, self.tz)[1] > fetched:
            day -= timedelta(days=1)
        return day if day >= self.range[0] else None

    def coverage_row(self, tenant_id: str) -> dict[str, Any] | None:
        """`public.data_coverage` of this run: the complete local days fetched so far, and through when.

        A local day is complete when every UTC date it spans was fetched (contiguously from the range
        start) after the day had ended; the run's last day is partial while it has not ended.
        """
        if not self.spec.coverage or self.range is None or self.span is None or not self.tasks:
            return None
        fetched = self._contiguous_end()
        if fetched is None:
            return None
        if self.spec.local_days:
            through = datetime.combine(fetched + timedelta(days=1), time(), UTC)
        else:
            through = local_day_start(self._range_day(fetched) + timedelta(days=1), self.tz)
        loaded = min(self.started, through)
        last = last_local_day_within(
            self.range[0], self._range_day(fetched) or self.range[0], loaded, self.tz
        )
        return {
            "tenant_id": tenant_id,
            "entity": self.spec.state_entity,
            "complete_from": self.range[0] if last is not None else None,
            "complete_to": last,
            "loaded_through": loaded,
        }

    def _contiguous_end(self) -> date | None:
        by_app: dict[str, list[Window]] = {}
        for task in self.tasks:
            if task.window is not None:
                by_app.setdefault(task.app_id, []).append(task.window)
        ends: list[date | None] = []
        for app, windows in by_app.items():
            end = None
            for w in sorted(windows):
                if (app, w) not in self.done:
                    break
                end = w[1]
            ends.append(end)
        if not ends or any(e is None for e in ends):
            return None
        return min(e for e in ends if e is not None)

    def state_row(self, tenant_id: str) -> dict[str, Any]:
        """The sync_state values to write now."""
        finished_ok = self.status == "success"
        return {
            "tenant_id": tenant_id,
            "entity": self.spec.state_entity,
            "last_cursor": self.cursor(),
            "last_sync_at": self.finished_at if finished_ok else None,
            "records_synced": self.records,
            "status": self.status,
            "last_error": self.errors[-1][:2000] if self.errors else None,
        }


def merged_state_rows(
    tenant_id: str, runs: Iterable[EntityRun], entities: Iterable[str]
) -> list[dict[str, Any]]:
    """One `sync_state` row per entity in `entities`, merging the runs of endpoints that share it.

    Status: error if any endpoint failed, running while any is pending, else success. Cursor: that
    of the endpoints that keep one (dated/cursor kinds; the lowest), else the snapshots' (None until
    every one has succeeded once). Records: the sum. Synced at: when the last one finished, on success.
    """
    by_entity: dict[str, list[EntityRun]] = {}
    for run in runs:
        by_entity.setdefault(run.spec.state_entity, []).append(run)
    rows = []
    for entity in dict.fromkeys(entities):
        group = by_entity.get(entity, [])
        if len(group) == 1:
            rows.append(group[0].state_row(tenant_id))
            continue
        states = [r.state_row(tenant_id) for r in group]
        statuses = {s["status"] for s in states}
        status = "error" if "error" in statuses else ("running" if "running" in statuses else "success")
        keeping = [r for r in group if r.spec.kind != "snapshot"] or group
        cursors = [r.cursor() for r in keeping]
        finished = [r.finished_at for r in group if r.finished_at is not None]
        rows.append(
            {
                "tenant_id": tenant_id,
                "entity": entity,
                "last_cursor": None if any(c is None for c in cursors) else min(cursors),
                "last_sync_at": max(finished) if status == "success" and finished else None,
                "records_synced": sum(r.records for r in group),
                "status": status,
                "last_error": next((s["last_error"] for s in states if s["last_error"]), None),
            }
        )
    return rows
