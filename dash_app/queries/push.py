"""Push and campaign KPIs of the dashboards: `lib.analysis.kpis` over the cached reader queries, plus
the daily series, the campaign list and the send-time heatmap."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.queries.chat import fetcher, window
from dash_app.queries.db import fetch_all
from lib.analysis import kpis

LEAGUE_MIN_SENT = kpis.LEAGUE_MIN_SENT


def _params(f: Filters) -> dict[str, Any]:
    return {"start": f.start, "end": f.end}


def by_platform(f: Filters) -> list[dict[str, Any]]:
    return kpis.push_by_platform(fetcher(f.tenant), window(f))


def totals(f: Filters) -> dict[str, Any]:
    return kpis.push_totals(fetcher(f.tenant), window(f))


def daily(f: Filters) -> list[dict[str, Any]]:
    return [kpis.push_rates(r) for r in fetch_all(f.tenant, "push_daily", _params(f))]


def heatmap(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "push_heatmap", {})


def campaigns(f: Filters) -> list[dict[str, Any]]:
    return [kpis.push_rates(r) for r in fetch_all(f.tenant, "kpi_campaigns", _params(f))]


def league(f: Filters, min_sent: int = LEAGUE_MIN_SENT) -> list[dict[str, Any]]:
    """Campaigns with at least `min_sent` sent, ranked by CTR (then by sent)."""
    return kpis.league(fetch_all(f.tenant, "kpi_campaigns", _params(f)), min_sent)
