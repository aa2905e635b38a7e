"""The run ledger: `ops.pipeline_runs` and `ops.pipeline_steps` (same facts as the run's manifest).

The one reader of it: `get_run`, `list_runs`, `active_runs` and `last_success_by_tenant` return typed
`RunRecord`/`StepRecord`s (`as_dict()` for JSON) to the runner, the CLI, the pipeline API and the Runs
page; `list_reports` the weekly reports' `ReportRecord`s (successful report steps) to the Reports page.
Every read is one tenant's (RLS plus an explicit `tenant_id` filter).

Writes go through `tenant_tx(tenant, "pipeline")`; reads for the dashboards/API use the app login
(RLS: one tenant at a time, so cross-tenant reads loop over the configured tenants). The API queues a
run as the app login through the narrow functions of migration 052 (`queue_run`, `set_queued_pid`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from lib.config import ConfigError, load_tenants
from lib.db import tenant_tx

RUN_COLUMNS = (
    "run_id, tenant_id, mode, status, params, git_commit, lib_version, started_at, finished_at, "
    "duration_ms, error, archive_dir, pid, created_at, archive_state, archive_location, archive_bytes, "
    "archived_at"
)
STEP_COLUMNS = (
    "step, seq, kind, status, started_at, finished_at, duration_ms, rows_in, rows_out, rejects, metrics, "
    "error_name, error_message, error_cell, notebook_path, html_path, reason"
)
STEP_FIELDS = set(STEP_COLUMNS.replace(" ", "").split(",")) - {"step"}
ACTIVE = ("queued", "running")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


@contextmanager
def _tx(tenant_id: str, role: str, conn: Connection | None) -> Iterator[Connection]:
    """The caller's transaction when given (launch's check-and-insert), else a new one."""
    if conn is not None:
        yield conn
    else:
        with tenant_tx(tenant_id, role) as own:  # type: ignore[arg-type]
            yield own


# --- writes ---------------------------------------------------------------------------------------
def create_run(
    run_id: str,
    tenant_id: str,
    mode: str,
    *,
    params: dict[str, Any],
    status: str = "queued",
    git_commit: str | None = None,
    lib_version: str | None = None,
    archive_dir: str | None = None,
    pid: int | None = None,
) -> None:
    """Insert the run row (idempotent on run_id: an existing row keeps its facts)."""
    with tenant_tx(tenant_id, "pipeline") as conn:
        conn.execute(
            text(
                "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status, params, git_commit, "
                "lib_version, archive_dir, pid) VALUES (:run_id, :tenant, :mode, :status, "
                "CAST(:params AS jsonb), :git, :ver, :dir, :pid) ON CONFLICT (run_id) DO NOTHING"
            ),
            {"run_id": run_id, "tenant": tenant_id, "mode": mode, "status": status,
             "params": _json(params), "git": git_commit, "ver": lib_version, "dir": archive_dir, "pid": pid},
        )  # fmt: skip


def queue_run(
    run_id: str,
    tenant_id: str,
    mode: str,
    *,
    params: dict[str, Any],
    archive_dir: str,
    lib_version: str | None,
    conn: Connection | None = None,
) -> bool:
    """Insert a `queued` run as the app login (the pipeline API); False when the run id exists."""
    with _tx(tenant_id, "app", conn) as conn:
        return bool(
            conn.execute(
                text("SELECT ops.queue_pipeline_run(:r, :m, CAST(:p AS jsonb), :d, :v)"),
                {"r": run_id, "m": mode, "p": _json(params), "d": archive_dir, "v": lib_version},
            ).scalar()
        )


def set_queued_pid(run_id: str, tenant_id: str, pid: int) -> bool:
    """Record the spawned process of a queued run (app login); False once the run has started."""
    with tenant_tx(tenant_id, "app") as conn:
        return bool(
            conn.execute(text("SELECT ops.set_queued_run_pid(:r, :p)"), {"r": run_id, "p": pid}).scalar()
        )


def update_run(run_id: str, tenant_id: str, **fields: Any) -> None:
    """Set columns of the run row (params as a dict; timestamps as datetimes)."""
    allowed = set(RUN_COLUMNS.replace(" ", "").split(",")) - {"run_id", "tenant_id", "created_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown run fields: {sorted(unknown)}")
    if not fields:
        return
    sets = ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k == "params" else f"{k} = :{k}" for k in fields)
    values = {k: _json(v) if k == "params" else v for k, v in fields.items()}
    with tenant_tx(tenant_id, "pipeline") as conn:
        conn.execute(
            text(f"UPDATE ops.pipeline_runs SET {sets} WHERE run_id = :run_id"),  # noqa: S608 - fixed names
            {**values, "run_id": run_id},
        )


def put_steps(
    run_id: str, tenant_id: str, steps: Iterable[tuple[int, str, str]], status: str = "pending"
) -> None:
    """Insert (seq, step id, kind) rows, or reset existing ones to `status` (a resume)."""
    with tenant_tx(tenant_id, "pipeline") as conn:
        for seq, step, kind in steps:
            conn.execute(
                text(
                    "INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, kind, status) "
                    "VALUES (:run_id, :tenant, :seq, :step, :kind, :status) "
                    "ON CONFLICT (run_id, step) DO UPDATE SET status = EXCLUDED.status, started_at = NULL, "
                    "finished_at = NULL, duration_ms = NULL, error_name = NULL, error_message = NULL, "
                    "error_cell = NULL"
                ),
                {"run_id": run_id, "tenant": tenant_id, "seq": seq, "step": step, "kind": kind,
                 "status": status},
            )  # fmt: skip


def update_step(run_id: str, tenant_id: str, step: str, **fields: Any) -> bool:
    """Set columns of one step row (metrics as a dict) while its run is running; False otherwise.

    The fence: a late result (a worker finishing after its run was interrupted or reaped) is ignored.
    """
    unknown = set(fields) - STEP_FIELDS
    if unknown:
        raise ValueError(f"unknown step fields: {sorted(unknown)}")
    if not fields:
        return True
    sets = ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k == "metrics" else f"{k} = :{k}" for k in fields)
    values = {k: _json(v) if k == "metrics" else v for k, v in fields.items()}
    with tenant_tx(tenant_id, "pipeline") as conn:
        done = conn.execute(
            text(
                f"UPDATE ops.pipeline_steps SET {sets} WHERE run_id = :run_id AND step = :step "  # noqa: S608
                "AND EXISTS (SELECT 1 FROM ops.pipeline_runs r WHERE r.run_id = :run_id AND r.status = 'running')"
            ),
            {**values, "run_id": run_id, "step": step},
        )
        return bool(done.rowcount)


def abort_steps(run_id: str, tenant_id: str, reason: str = "ejecución interrumpida") -> None:
    """An interrupted run: its running steps become failed, its pending ones skipped, with the reason."""
    with tenant_tx(tenant_id, "pipeline") as conn:
        conn.execute(
            text(
                "UPDATE ops.pipeline_steps SET status = CASE status WHEN 'running' THEN 'failed' ELSE 'skipped' END, "
                "error_name = CASE status WHEN 'running' THEN 'Interrupted' ELSE error_name END, "
                "error_message = CASE status WHEN 'running' THEN :reason ELSE error_message END, "
                "finished_at = CASE status WHEN 'running' THEN now() ELSE finished_at END, reason = :reason "
                "WHERE run_id = :r AND status IN ('pending', 'running')"
            ),
            {"r": run_id, "reason": reason},
        )


def fail_abandoned(tenant_id: str, keep: str, *, queued_grace_s: int = 120) -> int:
    """Mark the tenant's other running runs (and stale queued ones) failed; call while holding the lock."""
    with tenant_tx(tenant_id, "pipeline") as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text(
                    "UPDATE ops.pipeline_runs SET status = 'failed', finished_at = coalesce(finished_at, now()), "
                    "error = coalesce(error, 'proceso terminado: el proceso de la ejecución ya no existe') "
                    "WHERE run_id <> :keep AND (status = 'running' OR (status = 'queued' AND "
                    "created_at < now() - make_interval(secs => :grace))) RETURNING run_id"
                ),
                {"keep": keep, "grace": queued_grace_s},
            )
        ]
        if ids:
            conn.execute(
                text(
                    "UPDATE ops.pipeline_steps SET status = CASE status WHEN 'running' THEN 'failed' ELSE 'skipped' END, "
                    "error_name = CASE status WHEN 'running' THEN 'ProcessGone' ELSE error_name END, "
                    "error_message = CASE status WHEN 'running' THEN 'proceso terminado' ELSE error_message END, "
                    "reason = 'proceso terminado' WHERE run_id = ANY(:ids) AND status IN ('pending', 'running')"
                ),
                {"ids": ids},
            )
    return len(ids)


def relocate_archive(run_id: str, tenant_id: str, old_prefix: str, new_prefix: str) -> None:
    """A run's archive moved (retention): its steps' paths under `old_prefix` now start with `new_prefix`."""
    with tenant_tx(tenant_id) as conn:
        for col in ("notebook_path", "html_path"):
            conn.execute(
                text(
                    f"UPDATE ops.pipeline_steps SET {col} = :new || substr({col}, length(:old) + 1) "  # noqa: S608
                    f"WHERE run_id = :r AND left({col}, length(:old)) = :old"
                ),
                {"r": run_id, "old": old_prefix, "new": new_prefix},
            )


def reap_dead_runs(tenant_id: str, role: str = "app") -> list[str]:
    """End the tenant's runs whose process is gone (lock free; see `ops.reap_dead_runs`). Any login
    may call it (the API does, with the read-only one); returns the run ids it ended."""
    with tenant_tx(tenant_id, role) as conn:  # type: ignore[arg-type]
        return _reap(conn)


def _reap(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(text("SELECT ops.reap_dead_runs()"))]


# --- reads ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StepRecord:
    """One row of `ops.pipeline_steps` (times as datetimes; `as_dict` for JSON)."""

    step: str
    seq: int
    kind: str | None = None
    status: str = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    rejects: int | None = None
    metrics: dict[str, Any] | None = None
    error_name: str | None = None
    error_message: str | None = None
    error_cell: int | None = None
    notebook_path: str | None = None
    html_path: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The step as JSON-ready values (ISO times), keyed by column."""
        return {f.name: _iso(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of `ops.pipeline_runs`, with its steps (`get_run`) or step counts (`list_runs`)."""

    run_id: str
    tenant_id: str
    mode: str
    status: str
    params: dict[str, Any] | None = None
    git_commit: str | None = None
    lib_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    archive_dir: str | None = None
    pid: int | None = None
    created_at: datetime | None = None
    archive_state: str | None = None
    archive_location: str | None = None
    archive_bytes: int | None = None
    archived_at: datetime | None = None
    steps: tuple[StepRecord, ...] = ()
    steps_total: int | None = None
    steps_ok: int | None = None
    steps_failed: int | None = None
    rows_out: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values: run columns (ISO times), `steps` as dicts when loaded, the
        counts when listed."""
        out = {c: _iso(getattr(self, c)) for c in RUN_FIELDS}
        if self.steps_total is None:
            out["steps"] = [s.as_dict() for s in self.steps]
        else:
            out |= {"steps_ok": self.steps_ok, "steps_total": self.steps_total,
                    "steps_failed": self.steps_failed, "rows_out": self.rows_out}  # fmt: skip
        return out


RUN_FIELDS = tuple(c.strip() for c in RUN_COLUMNS.split(","))
_COUNTS = (
    "(SELECT count(*) FROM ops.pipeline_steps s WHERE s.run_id = r.run_id) AS steps_total, "
    "(SELECT count(*) FROM ops.pipeline_steps s WHERE s.run_id = r.run_id AND s.status = 'success') AS steps_ok, "
    "(SELECT count(*) FROM ops.pipeline_steps s WHERE s.run_id = r.run_id AND s.status = 'failed') AS steps_failed, "
    "(SELECT coalesce(sum(s.rows_out), 0)::bigint FROM ops.pipeline_steps s WHERE s.run_id = r.run_id) AS rows_out"
)


def _run(mapping: Any, steps: Iterable[StepRecord] = ()) -> RunRecord:
    return RunRecord(**dict(mapping), steps=tuple(steps))


def _tenant_ids(tenant_id: str | None) -> list[str]:
    if tenant_id is not None:  # "" is no tenant (tenant_tx refuses it), never "every tenant"
        return [tenant_id]
    try:
        return [t.id for t in load_tenants()]
    except ConfigError:
        return []


def _steps(conn: Any, run_id: str, tenant_id: str) -> list[StepRecord]:
    rows = conn.execute(
        text(
            f"SELECT {STEP_COLUMNS} FROM ops.pipeline_steps WHERE tenant_id = :t AND run_id = :r "  # noqa: S608
            "ORDER BY seq, step"
        ),
        {"r": run_id, "t": tenant_id},
    ).mappings()
    return [StepRecord(**dict(r)) for r in rows]


def get_run(
    run_id: str, tenant_id: str | None = None, *, role: str = "app", reap: bool = True
) -> RunRecord | None:
    """The run with its steps, or None (searched in `tenant_id`, else in every configured tenant).

    A run still shown queued/running whose process is gone is reaped first (`reap_dead_runs`).
    """
    for tid in _tenant_ids(tenant_id):
        if reap:
            _reap_if_active(tid, run_id, role)
        with tenant_tx(tid, role) as conn:  # type: ignore[arg-type]
            row = (
                conn.execute(
                    text(f"SELECT {RUN_COLUMNS} FROM ops.pipeline_runs WHERE tenant_id = :t AND run_id = :r"),  # noqa: S608
                    {"r": run_id, "t": tid},
                )
                .mappings()
                .first()
            )
            if row is not None:
                return _run(row, _steps(conn, run_id, tid))
    return None


def list_runs(
    tenant_id: str | None = None,
    limit: int = 20,
    *,
    created_from: date | None = None,
    created_to: date | None = None,
) -> list[RunRecord]:
    """Latest runs first, without steps (their counts instead); `created_from`/`created_to`: the
    window of creation dates, both included (the database's dates)."""
    out: list[RunRecord] = []
    window = ""
    if created_from is not None:
        window += " AND r.created_at >= CAST(:start AS date)"
    if created_to is not None:
        window += " AND r.created_at < CAST(:end AS date) + 1"
    for tid in _tenant_ids(tenant_id):
        with tenant_tx(tid, "app") as conn:
            rows = conn.execute(
                text(
                    f"SELECT {', '.join('r.' + c for c in RUN_FIELDS)}, {_COUNTS} "  # noqa: S608
                    f"FROM ops.pipeline_runs r WHERE r.tenant_id = :t{window} ORDER BY r.created_at DESC LIMIT :n"
                ),
                {"n": limit, "t": tid, "start": created_from, "end": created_to},
            ).mappings()
            out.extend(_run(r) for r in rows)
    out.sort(key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return out[:limit]


def _reap_if_active(tenant_id: str, run_id: str, role: str) -> None:
    with tenant_tx(tenant_id, role) as conn:  # type: ignore[arg-type]
        active = conn.execute(
            text("SELECT 1 FROM ops.pipeline_runs WHERE run_id = :r AND status IN ('queued', 'running')"),
            {"r": run_id},
        ).first()
    if active:
        reap_dead_runs(tenant_id, role)


def active_runs(tenant_id: str, role: str = "app", conn: Connection | None = None) -> list[RunRecord]:
    """The tenant's queued/running runs, oldest first (dead ones reaped first); `role`: the caller's
    login, `conn`: the caller's transaction (launch's check-and-insert)."""
    with _tx(tenant_id, role, conn) as conn:
        _reap(conn)
        rows = conn.execute(
            text(
                f"SELECT {RUN_COLUMNS} FROM ops.pipeline_runs WHERE tenant_id = :t "  # noqa: S608
                "AND status IN ('queued', 'running') ORDER BY created_at"
            ),
            {"t": tenant_id},
        ).mappings()
        return [_run(r) for r in rows]


def last_success_by_tenant(tenant_ids: Sequence[str] | None = None) -> dict[str, RunRecord]:
    """tenant id -> its latest successful run (without steps)."""
    out: dict[str, RunRecord] = {}
    for tid in list(tenant_ids) if tenant_ids else _tenant_ids(None):
        with tenant_tx(tid, "app") as conn:
            row = (
                conn.execute(
                    text(
                        f"SELECT {RUN_COLUMNS} FROM ops.pipeline_runs WHERE tenant_id = :t "  # noqa: S608
                        "AND status = 'success' ORDER BY finished_at DESC NULLS LAST LIMIT 1"
                    ),
                    {"t": tid},
                )
                .mappings()
                .first()
            )
            if row is not None:
                out[tid] = _run(row)
    return out


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A weekly report: a successful `report_weekly` step, its week and archived files."""

    run_id: str
    created_at: datetime | None = None
    notebook_html: str | None = None
    week: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    email: str | None = None
    emailed_to: list[str] | None = None
    artifacts: dict[str, Any] | None = None


_REPORTS_SQL = Path(__file__).with_name("report_list.sql")


def list_reports(tenant_id: str, limit: int = 100, run_id: str | None = None) -> list[ReportRecord]:
    """The tenant's weekly reports, newest first (app login, RLS); `run_id`: that run's only."""
    with tenant_tx(tenant_id, "app") as conn:
        rows = conn.execute(
            text(_REPORTS_SQL.read_text(encoding="utf-8")),
            {"tenant": tenant_id, "row_limit": int(limit), "run_id": run_id},
        ).mappings()
        return [ReportRecord(**dict(r)) for r in rows]
