"""The pipeline run ledger as the signed-in user's tenant sees it (reader role, RLS)."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.queries.db import fetch_all, fetch_one

RUNS_LIMIT = 200


TIME_COLUMNS = ("created_at", "started_at", "finished_at")


def _local(tenant: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Times as tenant-local text (the Runs page never shows the browser's zone)."""
    from dash_app.filters import tenant_timezone
    from lib.analysis.fmt import local_iso

    tz = tenant_timezone(tenant)
    return [{**r, **{c: local_iso(r.get(c), tz) for c in TIME_COLUMNS if c in r}} for r in rows]


def runs(f: Filters, limit: int = RUNS_LIMIT) -> list[dict[str, Any]]:
    rows = fetch_all(f.tenant, "runs_list", {"start": f.start, "end": f.end, "row_limit": int(limit)}, ttl=2)
    return _local(f.tenant, rows)


def steps(tenant: str, run_id: str) -> list[dict[str, Any]]:
    return _local(tenant, fetch_all(tenant, "run_steps", {"run_id": run_id}, ttl=2))


def reports(tenant: str, limit: int = 100) -> list[dict[str, Any]]:
    """The tenant's weekly reports (successful report steps), newest first."""
    return _local(tenant, fetch_all(tenant, "report_list", {"row_limit": int(limit)}, ttl=5))


def report_artifact(tenant: str, run_id: str) -> dict[str, Any]:
    rows = fetch_all(tenant, "report_list", {"row_limit": 1000}, ttl=0)
    return next((r for r in rows if r["run_id"] == run_id), {})


def run(tenant: str, run_id: str) -> dict[str, Any]:
    row = fetch_one(tenant, "run_one", {"run_id": run_id})
    return _local(tenant, [row])[0] if row else row


def step_html_path(tenant: str, run_id: str, step: str) -> str | None:
    rows = fetch_all(tenant, "step_html", {"run_id": run_id, "step": step}, ttl=0)
    return rows[0]["html_path"] if rows else None


def step_archive(tenant: str, run_id: str, step: str) -> dict[str, Any] | None:
    """html_path, notebook_path and the run's archive_state of one step (None: no such step)."""
    rows = fetch_all(tenant, "step_html", {"run_id": run_id, "step": step}, ttl=0)
    return rows[0] if rows else None


def last_success(tenant: str) -> Any:
    return fetch_one(tenant, "last_success", {}).get("last_success")
