"""The pipeline run ledger as the signed-in user's tenant sees it (reader role, RLS)."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.queries.db import fetch_all, fetch_one

RUNS_LIMIT = 200


def runs(f: Filters, limit: int = RUNS_LIMIT) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "runs_list", {"start": f.start, "end": f.end, "row_limit": int(limit)}, ttl=5)


def steps(tenant: str, run_id: str) -> list[dict[str, Any]]:
    return fetch_all(tenant, "run_steps", {"run_id": run_id}, ttl=5)


def run(tenant: str, run_id: str) -> dict[str, Any]:
    return fetch_one(tenant, "run_one", {"run_id": run_id})


def step_html_path(tenant: str, run_id: str, step: str) -> str | None:
    rows = fetch_all(tenant, "step_html", {"run_id": run_id, "step": step}, ttl=0)
    return rows[0]["html_path"] if rows else None


def step_archive(tenant: str, run_id: str, step: str) -> dict[str, Any] | None:
    """html_path, notebook_path and the run's archive_state of one step (None: no such step)."""
    rows = fetch_all(tenant, "step_html", {"run_id": run_id, "step": step}, ttl=0)
    return rows[0] if rows else None


def last_success(tenant: str) -> Any:
    return fetch_one(tenant, "last_success", {}).get("last_success")
