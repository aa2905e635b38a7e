"""When the runner adds the weekly report: from each Monday (tenant-local) until the last complete
week has a successful `report_weekly` step in the ledger, the scheduled runs end with it.

BI_WEEKLY_REPORT: `auto` (default: as above), `off` (never add it; on-demand `--mode report` still
works), `always` (every run adds it while the week is not reported; drills and tests)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from lib.config import TenantConfig, env_value
from lib.pipeline.graph import REPORT_STEP, Step

SETTING = "BI_WEEKLY_REPORT"
_DONE_SQL = """
SELECT 1 FROM ops.pipeline_steps
WHERE tenant_id = :tenant AND step = :step AND status = 'success' AND metrics -> 'result' ->> 'week' = :week
LIMIT 1
"""


def due_week(tenant: TenantConfig) -> str | None:
    """The ISO week to report now, or None."""
    from lib.analysis.periods import local_today
    from lib.report.weekly import iso_week, week_window

    mode = env_value(SETTING, "auto").strip().lower()
    today = local_today(tenant.timezone)
    if mode == "off" or (mode != "always" and today.weekday() != 0):
        return None
    week = iso_week(week_window(None, today)[0])
    from lib.db import tenant_tx

    with tenant_tx(tenant.id, "loader") as conn:
        done = conn.execute(
            text(_DONE_SQL), {"tenant": tenant.id, "step": REPORT_STEP.id, "week": week}
        ).first()
    return None if done else week


def add_weekly_report(steps: list[Step], tenant: TenantConfig) -> list[Step]:
    """The planned steps, plus the report after dbt_build when a week is due (a failure to decide
    never blocks the run: the report waits for the next one)."""
    if not any(s.id == "dbt_build" for s in steps):
        return steps
    try:
        week = due_week(tenant)
    except Exception:  # ledger unreadable: no report this time
        return steps
    return [*steps, replace(REPORT_STEP, deps=("dbt_build",))] if week else steps
