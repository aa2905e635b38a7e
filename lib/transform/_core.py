"""The transform runner: watermarks, one set-based statement per target table, the StepResult.

Every transform is a `.sql` file beside its module holding ONE statement (data-modifying CTEs):
read the tenant's raw rows in the batch `:lo_N < id <= :hi_N` (one pair per raw source table), type
and validate them, keep the latest version per natural key, `INSERT … ON CONFLICT … DO UPDATE … WHERE
<row changed>`, queue the touched keys for the post-transforms, and end with one result row:
`rows_in, rows_out, updated, rejects, reject_samples, metrics`.

Post-transforms take `:tenant` and `:full` and consume their queued keys (`ops.transform_dirty`) in
the same statement that recomputes them.

The watermark (`ops.transform_state.last_raw_id` per tenant, transform and raw table) moves in the same
transaction as the upsert. Two cases fall back to a full pass (so incremental = full refresh still
holds): new raw rows carrying an older `loaded_at` than rows already transformed (out-of-order loads),
and raw rows that appeared below the watermark (an id taken before the last run but committed after
it: detected by counting the tenant's raw rows with id <= watermark against the stored count).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from lib.names import TRANSFORMED_RAW_TABLES
from lib.steps import StepResult

log = logging.getLogger(__name__)

RAW_TABLES = TRANSFORMED_RAW_TABLES  # one owner: lib.names
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtext('lib.transform'), hashtext(:tenant || '/' || :name))")
_STATE_SQL = text(
    "SELECT source, last_raw_id, last_loaded_at, raw_rows_upto, timezone FROM ops.transform_state "
    "WHERE tenant_id = :tenant AND entity = :name"
)
_TZ_SQL = text("SELECT timezone FROM public.tenants WHERE id = :tenant")
_SAVE_STATE_SQL = text(
    "INSERT INTO ops.transform_state AS s (tenant_id, entity, source, last_raw_id, last_loaded_at, rows_in, "
    " rows_out, rejects, run_id, raw_rows_upto, timezone) "
    "VALUES (:tenant, :name, :source, :hi, :loaded, :rows_in, :rows_out, :rejects, :run_id, :upto, :tz) "
    "ON CONFLICT (tenant_id, entity, source) DO UPDATE SET last_raw_id = EXCLUDED.last_raw_id, "
    " raw_rows_upto = EXCLUDED.raw_rows_upto, timezone = EXCLUDED.timezone, "
    " last_loaded_at = EXCLUDED.last_loaded_at, rows_in = EXCLUDED.rows_in, rows_out = EXCLUDED.rows_out, "
    " rejects = EXCLUDED.rejects, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at"
)


@dataclass(frozen=True)
class Transform:
    """One target table: its SQL file, the raw tables it reads (none for a post-transform)."""

    name: str
    sql_file: Path
    sources: tuple[str, ...] = ()
    kind: Literal["transform", "post"] = "transform"
    work_mem: str = "64MB"
    doc: str = ""
    # Runs in the statement's transaction just before it (e.g. COPY raw CSV text into a temp table the
    # statement reads); returns metrics.
    prepare: Callable[[Connection, dict[str, Any]], dict[str, Any]] | None = None

    def sql(self) -> str:
        """The statement (read on each call: cheap, and edits apply without a restart)."""
        return self.sql_file.read_text(encoding="utf-8")


@dataclass
class _Batch:
    source: str
    lo: int
    hi: int
    new_rows: int
    min_loaded: datetime | None
    max_loaded: datetime | None
    prev_loaded: datetime | None = field(default=None)
    below: int = 0  # raw rows of the tenant with id <= lo, now

    @property
    def upto(self) -> int:
        """Raw rows of the tenant with id <= hi once this batch is done."""
        return self.below + self.new_rows


def _bounds(conn: Connection, tenant: str, table: str, lo: int) -> tuple[int, int, Any, Any, int]:
    """(hi, new rows, min loaded_at, max loaded_at, rows with id <= lo) of the tenant's raw table."""
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}")
    row = conn.execute(
        text(
            "SELECT coalesce(max(id) FILTER (WHERE id > :lo), :lo), count(*) FILTER (WHERE id > :lo), "  # noqa: S608
            " min(loaded_at) FILTER (WHERE id > :lo), max(loaded_at) FILTER (WHERE id > :lo), "
            f" count(*) FILTER (WHERE id <= :lo) FROM raw.{table} WHERE tenant_id = :tenant"  # table: whitelisted
        ),
        {"tenant": tenant, "lo": lo},
    ).one()
    return int(row[0]), int(row[1]), row[2], row[3], int(row[4])


def uses_local_dates(tf: Transform) -> bool:
    """True when the transform derives dates/hours in the tenant's time zone (its SQL reads it)."""
    return "timezone" in tf.sql()


def _plan_batches(
    conn: Connection,
    tf: Transform,
    tenant: str,
    full_refresh: bool,
    result: StepResult,
    tz: str | None = None,
) -> list[_Batch] | None:
    """The id window per source; None when nothing is new. Out-of-order or late rows, or a time zone
    other than the one the transform last ran with (for local-date transforms): a full pass."""
    state = {r.source: r for r in conn.execute(_STATE_SQL, {"tenant": tenant, "name": tf.name})}
    before = {r.timezone for r in state.values() if r.timezone}
    if not full_refresh and tz and before and before != {tz} and uses_local_dates(tf):
        result.warnings.append(
            f"the tenant's time zone changed ({', '.join(sorted(before))} -> {tz}): full refresh of {tf.name}"
        )
        result.metrics["timezone_fallback"] = True
        return _plan_batches(conn, tf, tenant, True, result)
    seen_loaded = max((r.last_loaded_at for r in state.values() if r.last_loaded_at), default=None)
    batches: list[_Batch] = []
    for table in tf.sources:
        prev = state.get(table)
        lo = 0 if full_refresh or prev is None else int(prev.last_raw_id)
        hi, n, mn, mx, below = _bounds(conn, tenant, table, lo)
        batches.append(_Batch(table, lo, hi, n, mn, mx, prev.last_loaded_at if prev else None, below))
        if (
            not full_refresh
            and prev is not None
            and prev.raw_rows_upto is not None
            and below > prev.raw_rows_upto
        ):
            result.warnings.append(
                f"raw.{table}: {below - prev.raw_rows_upto} row(s) committed late below the watermark: full pass"
            )
            result.metrics["late_rows_fallback"] = True
            return _plan_batches(conn, tf, tenant, True, result)
    if (
        not full_refresh
        and seen_loaded is not None
        and any(b.min_loaded is not None and b.min_loaded < seen_loaded for b in batches)
    ):
        result.warnings.append(
            "new raw rows carry an older loaded_at than rows already transformed: full pass "
            "(so the latest loaded_at still wins)"
        )
        result.metrics["out_of_order_fallback"] = True
        return _plan_batches(conn, tf, tenant, True, result)
    if not full_refresh and all(b.new_rows == 0 for b in batches):
        return None
    return batches


def _apply_result(result: StepResult, row: Any) -> None:
    data = dict(row._mapping)
    result.rows_in += int(data.pop("rows_in", 0) or 0)
    result.rows_out += int(data.pop("rows_out", 0) or 0)
    rejects = int(data.pop("rejects", 0) or 0)
    result.rejects += rejects
    samples = data.pop("reject_samples", None) or []
    if isinstance(samples, str):
        samples = json.loads(samples)
    result.reject_samples.extend(samples)
    metrics = data.pop("metrics", None) or {}
    if isinstance(metrics, str):
        metrics = json.loads(metrics)
    for key, value in data.items():
        result.metrics[key] = int(value) if isinstance(value, int | float) else value
    result.metrics.update(metrics)
    anomalies = int(metrics.get("anomalies", 0) or 0)
    if anomalies:
        result.warnings.append(
            f"{anomalies} row(s) with a negative interval (anomalies: the time is set to NULL), "
            f"e.g. {', '.join(map(str, metrics.get('anomaly_samples', [])))}"
        )
    if rejects:
        reasons = sorted({s.get("reason", "?") for s in samples})
        result.warnings.append(
            f"{rejects} raw row(s) could not be transformed and stay in raw ({', '.join(reasons)})"
        )


def execute(
    tf: Transform, tenant: str, *, run_id: str | None = None, full_refresh: bool = False
) -> StepResult:
    """Run one transform or post-transform for one tenant inside `tenant_tx(tenant, "pipeline")`."""
    from lib.db import tenant_tx

    result = StepResult(step=tf.name, tenant_id=tenant)
    result.metrics["full_refresh"] = full_refresh
    params: dict[str, Any] = {"tenant": tenant}
    started = time.perf_counter()
    try:
        with tenant_tx(tenant, "pipeline") as conn:
            conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
            conn.execute(text("SELECT set_config('work_mem', :wm, true)"), {"wm": tf.work_mem})
            conn.execute(_LOCK_SQL, {"tenant": tenant, "name": tf.name})
            if tf.sources:
                # The statement reads its target table while inserting into it (old keys of updated rows):
                # a seq scan there, chosen on stale statistics, would rescan the growing heap per row.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            if tf.kind == "post":
                # Post-transforms aggregate rows the run has just written: on a fresh tenant's backfill
                # their statistics say "a few rows" (autovacuum has not analysed them, and the pipeline
                # login may not ANALYZE on PostgreSQL 15), and the nested loops planned on that were
                # O(n^2) (daily_stats_totals: > 3 min for one tenant x 90 days, measured by bench_citus).
                conn.execute(text("SET LOCAL enable_nestloop = off"))
            tz = conn.execute(_TZ_SQL, {"tenant": tenant}).scalar()
            batches: list[_Batch] = []
            if tf.sources:
                planned = _plan_batches(conn, tf, tenant, full_refresh, result, tz)
                if planned is None:
                    result.metrics["raw_rows"] = 0
                    result.duration_s = time.perf_counter() - started
                    return result
                batches = planned
                full_refresh = full_refresh or bool(result.metrics.get("timezone_fallback"))
                for i, b in enumerate(batches):
                    params[f"lo_{i}"], params[f"hi_{i}"] = b.lo, b.hi
                result.metrics["raw_rows"] = sum(b.new_rows for b in batches)
                result.metrics["watermarks"] = {b.source: [b.lo, b.hi] for b in batches}
            params["full"] = full_refresh
            if tf.prepare is not None:
                result.metrics.update(tf.prepare(conn, params))
            row = conn.execute(text(tf.sql()), params).one()
            _apply_result(result, row)
            for b in batches or [_Batch("", 0, 0, 0, None, None)]:
                loaded = max((d for d in (b.prev_loaded, b.max_loaded) if d is not None), default=None)
                conn.execute(
                    _SAVE_STATE_SQL,
                    {
                        "tenant": tenant,
                        "name": tf.name,
                        "source": b.source,
                        "hi": b.hi,
                        "loaded": loaded,
                        "rows_in": result.rows_in,
                        "rows_out": result.rows_out,
                        "rejects": result.rejects,
                        "run_id": run_id,
                        "upto": b.upto,
                        "tz": tz,
                    },
                )
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        result.errors.append(f"{type(orig).__name__}: {message}")
        log.exception("transform %s failed for tenant %s", tf.name, tenant)
    result.duration_s = time.perf_counter() - started
    return result
