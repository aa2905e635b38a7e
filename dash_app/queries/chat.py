"""Conversation KPIs of the dashboards: `lib.analysis.kpis` (the one KPI source) over the cached
reader queries, plus the page-only queries (daily series, heatmap, drill-down, intents, agents)."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.queries.db import fetch_all, fetch_one
from lib.analysis import kpis
from lib.analysis.fmt import agent_label, local_iso

DRILL_ROW_LIMIT = 500


def fetcher(tenant: str) -> kpis.Fetch:
    """A `kpis.Fetch` for one tenant through the web process's cached reader queries."""
    return lambda name, params: fetch_all(tenant, name, params)


def window(f: Filters) -> kpis.Window:
    return kpis.Window(f.start, f.end, f.channel)


def window_params(f: Filters) -> dict[str, Any]:
    return window(f).params()


def unique_contacts(f: Filters) -> int:
    return kpis.unique_contacts(fetcher(f.tenant), window(f))


def totals(f: Filters) -> dict[str, Any]:
    return kpis.chat_totals(fetcher(f.tenant), window(f))


def sessions(f: Filters) -> dict[str, Any]:
    return kpis.sessions(fetcher(f.tenant), window(f))


def repeat_contact(f: Filters) -> float | None:
    return kpis.repeat_contact(fetcher(f.tenant), window(f))


def wait_buckets(session_stats: dict[str, Any]) -> list[dict[str, Any]]:
    return kpis.wait_buckets(session_stats)


def daily(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "chat_daily", window_params(f))


def heatmap(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "volume_heatmap", window_params(f))


def heatmap_rows(
    f: Filters, weekday_num: int, hour: int, limit: int = DRILL_ROW_LIMIT
) -> list[dict[str, Any]]:
    """The inbound messages behind one weekday × hour cell, times in the tenant's zone."""
    from dash_app.filters import tenant_timezone

    rows = fetch_all(
        f.tenant,
        "heatmap_drill",
        {**window_params(f), "weekday_num": int(weekday_num), "hour": int(hour), "row_limit": int(limit)},
    )
    tz = tenant_timezone(f.tenant)
    return [{**r, "message_ts": local_iso(r.get("message_ts"), tz)} for r in rows]


def intents(f: Filters, limit: int = 50) -> list[dict[str, Any]]:
    """Conversations by first meaningful intent (welcome skipped), with the share over all intents."""
    return fetch_all(f.tenant, "kpi_intents", {**window_params(f), "row_limit": int(limit)})


def fallback_context(f: Filters, limit: int = 10) -> list[dict[str, Any]]:
    """Fallbacks by the intent the contact was in when the bot failed."""
    return fetch_all(f.tenant, "kpi_fallback_context", {**window_params(f), "row_limit": int(limit)})


def agents(f: Filters) -> list[dict[str, Any]]:
    return [
        {**r, "agent": agent_label(r.get("agent_id"), r.get("agent_email"))}
        for r in fetch_all(f.tenant, "kpi_agents", window_params(f))
    ]


def data_bounds(tenant: str) -> dict[str, Any]:
    return fetch_one(tenant, "data_bounds", {})
