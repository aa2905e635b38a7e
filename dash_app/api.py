"""Pipeline HTTP API for n8n (bearer token, not the dashboard sign-in) and the health check.

- `POST /api/run-pipeline` {"mode": "full"|"transform-only", "tenant": optional} → 202 {run_id, status_url};
  409 while the tenant's run holds the lock; 401 bad/missing token; 400 bad body/unknown tenant;
  503 when PIPELINE_API_TOKEN is not configured. The run is a separate process (launch_run spawns it).
  `"tenant": "*"` (every configured tenant) or a list of ids queues a batch (lib.pipeline.batch):
  202 {run_id = batch_id, batch_id, status_url, tenants}; a tenant already running is skipped by
  the batch (its status says so), not a 409; 409 {error: "already running", batch_id} while another
  batch is in progress (one batch at a time).
- `GET /api/runs/<run_id>` → {run_id, status, done, steps, timings, error}; for a batch id
  {batch_id, status, done, dbt_status, failed_tenants, skipped_tenants, uptodate_tenants,
  tenants: {id: {run_id, status, error…}}, error: {message: "failed tenants: a (its message); …"}}.
- `GET /healthz` (no auth) → {database, last_success, last_success_age_s}: whether the database
  answers and the newest successful run over every tenant (no tenant name); 200 or 503.
The token is compared with `hmac.compare_digest` and never logged or echoed.
"""

from __future__ import annotations

import hmac
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import flask
from sqlalchemy import text

from lib.names import API_RUN_MODES

if TYPE_CHECKING:
    from lib.pipeline.ledger import RunRecord

log = logging.getLogger(__name__)
bp = flask.Blueprint("pipeline_api", __name__)
MODES = API_RUN_MODES
ALLOWED_FIELDS = {"mode", "tenant"}
DONE = ("success", "failed")


def _error(status: int, message: str, **extra: Any) -> flask.Response:
    resp = flask.jsonify({"error": message, **extra})
    resp.status_code = status
    return resp


def _check_token() -> flask.Response | None:
    """None when the bearer token matches PIPELINE_API_TOKEN; else the error response."""
    from lib.config import get_settings

    configured = get_settings().pipeline_api_token
    if configured is None or not configured.get_secret_value():
        return _error(503, "pipeline API disabled: PIPELINE_API_TOKEN is not configured")
    header = flask.request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    ok = scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode("utf-8"), configured.get_secret_value().encode("utf-8")
    )
    if not ok:
        resp = _error(401, "unauthorized")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="pipeline"'
        return resp
    return None


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _running_run_id(tenant: str) -> str | None:
    """The tenant's newest queued/running run, if the ledger shows one."""
    from lib.pipeline.ledger import active_runs

    try:
        active = active_runs(tenant, "app")
        return active[-1].run_id if active else None
    except Exception:  # noqa: BLE001 - only a hint for the 409 body
        log.exception("could not read the running run of a tenant")
        return None


@bp.post("/api/run-pipeline")
def run_pipeline() -> flask.Response:
    denied = _check_token()
    if denied is not None:
        return denied
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, 'expected a JSON object body: {"mode": "full"|"transform-only", "tenant": …}')
    unknown = sorted(set(body) - ALLOWED_FIELDS)
    if unknown:
        return _error(400, f"unknown field(s): {', '.join(unknown)}")
    mode = body.get("mode")
    if mode not in MODES:
        return _error(400, f"mode must be one of {', '.join(MODES)}")
    from lib.config import get_settings, load_tenants
    from lib.pipeline.batch import TenantSelectionError, select_tenants

    try:
        chosen = select_tenants(body.get("tenant"), [t.id for t in load_tenants()], get_settings().tenant_id)
    except TenantSelectionError as exc:
        return _error(400, str(exc))
    if chosen.batch:
        return _launch_batch(mode, list(chosen.tenants))
    tenant = chosen.tenant
    from lib.pipeline.launch import launch_run
    from lib.pipeline.lock import RunLocked

    try:
        run_id = launch_run(tenant, mode)
    except RunLocked as exc:
        running = getattr(exc, "run_id", None) or _running_run_id(tenant)
        return _error(409, "already running", run_id=running, tenant=tenant)
    log.info("pipeline run %s launched for tenant %s (%s) via the API", run_id, tenant, mode)
    status_url = flask.url_for("pipeline_api.run_status", run_id=run_id, _external=True)
    resp = flask.jsonify(
        {"run_id": run_id, "status_url": status_url, "tenant": tenant, "mode": mode, "status": "queued"}
    )
    resp.status_code = 202
    resp.headers["Location"] = status_url
    return resp


def _launch_batch(mode: str, tenants: list[str]) -> flask.Response:
    from lib.pipeline import batch
    from lib.pipeline.lock import BatchLocked

    try:
        batch_id = batch.launch_batch(mode, tenants)
    except BatchLocked as exc:  # one batch at a time: like a locked tenant, not an error of n8n's
        return _error(409, "already running", run_id=exc.batch_id, batch_id=exc.batch_id)
    log.info("pipeline batch %s launched for %d tenant(s) (%s) via the API", batch_id, len(tenants), mode)
    status_url = flask.url_for("pipeline_api.run_status", run_id=batch_id, _external=True)
    resp = flask.jsonify(
        {"run_id": batch_id, "batch_id": batch_id, "status_url": status_url, "tenants": tenants,
         "mode": mode, "status": "queued"}
    )  # fmt: skip
    resp.status_code = 202
    resp.headers["Location"] = status_url
    return resp


def batch_document(row: dict[str, Any]) -> dict[str, Any]:
    """What n8n polls for a batch: overall status, dbt, and each tenant's run and status."""
    results = row.get("results") or {}
    status = row.get("status")
    return {
        "run_id": row.get("batch_id"),
        "batch_id": row.get("batch_id"),
        "mode": row.get("mode"),
        "status": status,
        "done": status in DONE,
        "ok": status == "success",
        "dbt_status": row.get("dbt_status"),
        "tenants": {t: results.get(t, {"status": "queued"}) for t in row.get("tenants") or []},
        "failed_tenants": [t for t, r in results.items() if r.get("status") == "failed"],
        "skipped_tenants": [t for t, r in results.items() if r.get("status") == "skipped"],
        "uptodate_tenants": [t for t, r in results.items() if r.get("status") == "uptodate"],
        "error": {"step": None, "cell": None, "name": None, "message": row["error"]}
        if row.get("error")
        else None,
        "started_at": row.get("started_at"),
        "finished_at": row.get("finished_at"),
        "duration_ms": row.get("duration_ms"),
    }


def run_document(run: RunRecord) -> dict[str, Any]:
    """The machine-readable status n8n polls."""
    steps = []
    failed: dict[str, Any] | None = None
    for s in run.steps:
        step: dict[str, Any] = {
            "step": s.step,
            "seq": s.seq,
            "status": s.status,
            "duration_ms": s.duration_ms,
            "rows_in": s.rows_in,
            "rows_out": s.rows_out,
            "error": None,
        }
        if s.status == "failed" or s.error_message:
            step["error"] = {"name": s.error_name, "cell": s.error_cell, "message": s.error_message}
            if failed is None:
                failed = {
                    "step": s.step,
                    "cell": s.error_cell,
                    "name": s.error_name,
                    "message": s.error_message,
                }
        steps.append(step)
    error = failed
    if error is None and run.error:
        error = {"step": None, "cell": None, "name": None, "message": run.error}
    return {
        "run_id": run.run_id,
        "tenant": run.tenant_id,
        "mode": run.mode,
        "status": run.status,
        "done": run.status in DONE,
        "ok": run.status == "success",
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "error": error,
        "steps": steps,
    }


@bp.get("/api/runs/<run_id>")
def run_status(run_id: str) -> flask.Response:
    denied = _check_token()
    if denied is not None:
        return denied
    if len(run_id) > 200:
        return _error(400, "bad run id")
    if "-batch-" in run_id:
        from lib.pipeline.batch import get_batch

        row = get_batch(run_id)
        if row is None:
            return _error(404, "unknown run", run_id=run_id)
        return flask.jsonify(batch_document(row))
    from lib.pipeline.ledger import get_run

    run = get_run(run_id)
    if run is None:
        return _error(404, "unknown run", run_id=run_id)
    return flask.jsonify(run_document(run))


@bp.get("/healthz")
def healthz() -> flask.Response:
    database = "ok"
    newest: datetime | None = None
    try:
        from lib.db import get_engine

        with get_engine("app").connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - reported as the status, details in the log only
        log.exception("health check: database unreachable")
        database = "error"
    if database == "ok":
        newest = _newest_success()
    age = None
    if newest is not None:
        from lib.auth import clock_now

        age = max(0, int((clock_now() - newest).total_seconds()))
    resp = flask.jsonify({"database": database, "last_success": _iso(newest), "last_success_age_s": age})
    resp.status_code = 200 if database == "ok" else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _newest_success() -> datetime | None:
    """The newest successful run's end over every configured tenant (None when there is none)."""
    from lib.pipeline.ledger import last_success_by_tenant

    try:
        runs = last_success_by_tenant()
    except Exception:  # noqa: BLE001 - the database answered; an unreadable ledger is only "unknown"
        log.exception("health check: ledger unreadable")
        return None
    ends = [r.finished_at for r in runs.values() if r.finished_at is not None]
    return max(ends, default=None)
