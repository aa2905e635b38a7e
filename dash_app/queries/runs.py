"""The pipeline run ledger as the signed-in user's tenant sees it (app login, RLS): lib.pipeline.ledger's
records, shaped for the Runs page, its exports and the notebook viewer."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters

RUNS_LIMIT = 200
TIME_COLUMNS = ("created_at", "started_at", "finished_at")
RUN_ROW = ("run_id", "mode", "status", "created_at", "started_at", "finished_at", "duration_ms", "error")
LIST_ROW = (*RUN_ROW, "steps_ok", "steps_failed", "rows_out")
ONE_ROW = ("run_id", "tenant_id", "mode", "status", "created_at", "started_at", "finished_at", "duration_ms",
           "error")  # fmt: skip
STEP_ROW = ("seq", "step", "kind", "status", "started_at", "finished_at", "duration_ms", "rows_in", "rows_out",
            "rejects", "error_name", "error_message", "error_cell", "notebook_path", "html_path", "reason")  # fmt: skip


def _local(tenant: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Times as tenant-local text (the Runs page never shows the browser's zone)."""
    from dash_app.filters import tenant_timezone
    from lib.analysis.fmt import local_iso

    tz = tenant_timezone(tenant)
    return [{**r, **{c: local_iso(r.get(c), tz) for c in TIME_COLUMNS if c in r}} for r in rows]


def _pick(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(record, n) for n in names}


def runs(f: Filters, limit: int = RUNS_LIMIT) -> list[dict[str, Any]]:
    """The tenant's runs created in the filter's window, newest first, with step counts."""
    from lib.pipeline import ledger

    records = ledger.list_runs(f.tenant, int(limit), created_from=f.start, created_to=f.end)
    return _local(f.tenant, [{**_pick(r, LIST_ROW), "steps": r.steps_total} for r in records])


def _run(tenant: str, run_id: str) -> Any:
    from lib.pipeline import ledger

    return ledger.get_run(run_id, tenant, reap=False)


def steps(tenant: str, run_id: str) -> list[dict[str, Any]]:
    record = _run(tenant, run_id)
    return _local(tenant, [_pick(s, STEP_ROW) for s in record.steps] if record else [])


def run(tenant: str, run_id: str) -> dict[str, Any]:
    record = _run(tenant, run_id)
    return _local(tenant, [_pick(record, ONE_ROW)])[0] if record else {}


def step_archive(tenant: str, run_id: str, step: str) -> dict[str, Any] | None:
    """html_path, notebook_path and the run's archive_state of one step (None: no such step)."""
    record = _run(tenant, run_id)
    found = next((s for s in record.steps if s.step == step), None) if record else None
    if record is None or found is None:
        return None
    return {
        "html_path": found.html_path,
        "notebook_path": found.notebook_path,
        "archive_state": record.archive_state,
    }


REPORT_ROW = ("run_id", "created_at", "notebook_html", "week", "date_from", "date_to", "email", "emailed_to",
              "artifacts")  # fmt: skip


def reports(tenant: str, limit: int = 100) -> list[dict[str, Any]]:
    """The tenant's weekly reports (successful report steps), newest first."""
    from lib.pipeline import ledger

    return _local(tenant, [_pick(r, REPORT_ROW) for r in ledger.list_reports(tenant, limit)])


def report_artifact(tenant: str, run_id: str) -> dict[str, Any]:
    """One run's report (its archived files), {} when the tenant has none of that run."""
    from lib.pipeline import ledger

    found = ledger.list_reports(tenant, 1, run_id=run_id)
    return _pick(found[0], REPORT_ROW) if found else {}
