"""Run an extractor's entities: HTTP on a bounded thread pool, DB writes batched on writer thread(s)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lib.api import IndigitallClient
from lib.api.slots import priority
from lib.config import TenantConfig
from lib.extract.model import EntitySpec, Outcome, Task, TaskDone, failure, success
from lib.extract.options import ExtractOptions
from lib.extract.state import EntityRun, merged_state_rows
from lib.extract.windows import clock_now
from lib.extract.writer import last_sweeps, read_states, write_batch, write_states
from lib.steps import StepResult

log = logging.getLogger(__name__)


def _work(client: IndigitallClient, task: Task, options: ExtractOptions, out: queue.Queue) -> None:
    """Fetch every call of one task, handing each outcome to the writer as soon as it is known."""
    try:
        with priority(task.spec.weight):
            for response in task.spec.fetch(client, task, options):
                out.put(success(task, response))
        out.put(TaskDone(task, True))
    except Exception as exc:  # every failure becomes a logged outcome
        log.warning("%s failed: %s", task.label(), exc)
        out.put(failure(task, exc))
        out.put(TaskDone(task, False))


def _drain(out: queue.Queue, max_bytes: int) -> list[Outcome | TaskDone]:
    """Block for one item, then take whatever else is ready (up to `max_bytes` of raw data)."""
    items = [out.get()]
    size = items[0].bytes if isinstance(items[0], Outcome) else 0
    while size < max_bytes:
        try:
            item = out.get_nowait()
        except queue.Empty:
            break
        items.append(item)
        size += item.bytes if isinstance(item, Outcome) else 0
    return items


def sweep_due(
    tenant_id: str, spec: EntitySpec, app_ids: list[str], options: ExtractOptions, now: datetime | None = None
) -> frozenset[str]:
    """Applications whose cursor entity has not been read from the start for `contacts_sweep_hours`."""
    swept = last_sweeps(tenant_id, spec.raw_table, spec.endpoint, "lastId")
    due = (now or clock_now()) - timedelta(hours=options.contacts_sweep_hours)
    return frozenset(app for app in app_ids if app not in swept or swept[app] <= due)


class _Stamp:
    """Strictly increasing timestamps for sync_state and data_coverage, which keep the newest write.

    They start above the stored rows' `updated_at`: a state this run writes is never older than one
    an earlier run wrote, even when the clock stands still (BI_CLOCK_NOW) or lags the one that
    stamped the stored row."""

    def __init__(self, floor: datetime | None = None) -> None:
        start = clock_now()
        self._last = start if floor is None or start > floor else floor

    def next(self) -> datetime:
        now = clock_now()
        self._last = now if now > self._last else self._last + timedelta(microseconds=1)
        return self._last


def run_specs(
    result: StepResult,
    specs: Sequence[EntitySpec],
    *,
    tenant: TenantConfig,
    app_ids: list[str],
    client: IndigitallClient,
    options: ExtractOptions,
    run_id: str,
    mode: str,
    date_from: date | None,
    date_to: date | None,
    now: datetime | None = None,
) -> dict[str, EntityRun]:
    """Fetch and store every entity of `specs`; fills `result` (calls, rows, errors, warnings, metrics).

    `now` (UTC; default `lib.clock.now()`, BI_CLOCK_NOW in tests and benchmarks) fixes "today": the
    tenant's local date for local-day entities, the UTC date for the others.
    """
    now = now or clock_now()
    tz = ZoneInfo(tenant.timezone)
    old = read_states(tenant.id, list(dict.fromkeys(s.state_entity for s in specs)))
    runs: dict[str, EntityRun] = {}
    for spec in specs:
        today = now.astimezone(tz).date() if spec.local_days else now.astimezone(UTC).date()
        cursor = (old.get(spec.state_entity) or {}).get("last_cursor")
        run = EntityRun(spec, cursor, today, now=now, tz=tz)
        sweep = sweep_due(tenant.id, spec, app_ids, options, now) if spec.kind == "cursor" else frozenset()
        run.plan(app_ids, options, date_from=date_from, date_to=date_to, mode=mode, sweep=sweep)
        runs[spec.name] = run
    active = [r for r in runs.values() if r.tasks]
    if not active:
        result.warnings.append("nothing to fetch (no application id, or the range is empty)")
        return runs
    stored = [st["updated_at"] for st in old.values() if st.get("updated_at") is not None]
    clock = _Stamp(max(stored, default=None))
    stamp = clock.next()
    running = merged_state_rows(tenant.id, active, [r.spec.state_entity for r in active])
    write_states(tenant.id, [{**row, "updated_at": stamp} for row in running])

    tasks = sorted((t for r in active for t in r.tasks), key=lambda t: -t.spec.weight)
    out: queue.Queue[Outcome | TaskDone] = queue.Queue()
    remaining = len(tasks)
    stats = {"batches": 0, "write_s": 0.0}
    inflight: deque[Future[None]] = deque()
    counted = threading.Lock()

    def write(
        outcomes: list[Outcome],
        state_rows: list[dict[str, Any]],
        coverage: list[dict[str, Any]],
        previous: Future[None] | None,
    ) -> None:
        t0 = time.perf_counter()
        # The heavy part (raw JSONB) runs in parallel; commits keep the batch order (see write_batch).
        wait = previous.result if previous is not None else None
        write_batch(tenant.id, run_id, outcomes, state_rows, before_states=wait, coverage=coverage)
        with counted:
            for o in outcomes:
                if o.repeat_of is not None:
                    runs[o.task.spec.name].repeated += 1
            stats["write_s"] += time.perf_counter() - t0

    pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="extract")
    writers = ThreadPoolExecutor(max_workers=max(1, options.db_writers), thread_name_prefix="extract-db")
    try:
        for task in tasks:
            pool.submit(_work, client, task, options, out)
        while remaining:
            items = _drain(out, options.batch_max_bytes)
            outcomes: list[Outcome] = []
            dirty: dict[str, EntityRun] = {}
            for item in items:
                run = runs[item.task.spec.name]
                dirty[run.spec.name] = run
                if isinstance(item, Outcome):
                    run.record(item)
                    outcomes.append(item)
                else:
                    run.task_done(item.task, item.ok)
                    remaining -= 1
            stamp = clock.next()
            touched = [r.spec.state_entity for r in dirty.values()]
            state_rows = [
                {**row, "updated_at": stamp} for row in merged_state_rows(tenant.id, active, touched)
            ]
            coverage = [
                {**row, "updated_at": stamp}
                for r in dirty.values()
                if (row := r.coverage_row(tenant.id)) is not None
            ]
            while len(inflight) >= max(1, options.db_writers):
                inflight.popleft().result()
            previous = inflight[-1] if inflight else None
            inflight.append(writers.submit(write, outcomes, state_rows, coverage, previous))
            stats["batches"] += 1
        while inflight:
            inflight.popleft().result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        writers.shutdown(wait=True, cancel_futures=True)
        raise
    writers.shutdown(wait=True)
    pool.shutdown(wait=True)
    _summarise(result, runs, batches=stats["batches"], write_s=stats["write_s"])
    return runs


def _summarise(result: StepResult, runs: dict[str, EntityRun], *, batches: int, write_s: float) -> None:
    entities: dict[str, Any] = result.metrics.setdefault("entities", {})
    for name, run in runs.items():
        if not run.tasks:
            continue
        result.calls += run.calls
        result.rows_in += run.records
        result.rows_out += run.raw_rows
        entities[name] = {
            "sync_state": run.spec.state_entity,
            "status": run.status,
            "required": run.spec.required,
            "calls": run.calls,
            "records": run.records,
            "raw_rows": run.raw_rows,
            "repeated": run.repeated,
            "bytes": run.bytes,
            "range": [str(d) for d in run.range] if run.range else None,
            "cursor": run.cursor(),
        }
        for err in run.errors:
            text = f"{name}: {err}"
            if run.spec.required:
                result.errors.append(text)
            else:
                result.warnings.append(f"{text} (optional endpoint; continuing)")
    result.metrics["write_batches"] = result.metrics.get("write_batches", 0) + batches
    result.metrics["write_seconds"] = round(result.metrics.get("write_seconds", 0.0) + write_s, 3)
