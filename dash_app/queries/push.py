"""Push and campaign KPIs for a window (Σ/Σ over mart_push_daily; campaign league and heatmap)."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.kpi import ratio
from dash_app.queries.db import fetch_all

LEAGUE_MIN_SENT = 100


def _params(f: Filters) -> dict[str, Any]:
    return {"start": f.start, "end": f.end}


def with_rates(row: dict[str, Any]) -> dict[str, Any]:
    """Add delivery rate, CTR (÷ sent, Indigitall's definition), CTR ÷ delivered and open rate."""
    out = dict(row)
    out["delivery_rate"] = ratio(row.get("delivered"), row.get("sent"))
    out["ctr"] = ratio(row.get("clicks"), row.get("sent"))
    out["ctr_delivered"] = ratio(row.get("clicks"), row.get("delivered"))
    out["open_rate"] = ratio(row.get("opened"), row.get("delivered"))
    return out


def by_platform(f: Filters) -> list[dict[str, Any]]:
    return [with_rates(r) for r in fetch_all(f.tenant, "push_totals", _params(f))]


def totals(f: Filters) -> dict[str, Any]:
    """All platforms summed, then the rates (never an average of platform or daily rates)."""
    rows = fetch_all(f.tenant, "push_totals", _params(f))
    keys = ("sent", "delivered", "opened", "clicks")
    return with_rates({k: sum(int(r.get(k) or 0) for r in rows) for k in keys})


def daily(f: Filters) -> list[dict[str, Any]]:
    return [with_rates(r) for r in fetch_all(f.tenant, "push_daily", _params(f))]


def heatmap(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "push_heatmap", {})


def campaigns(f: Filters) -> list[dict[str, Any]]:
    return [with_rates(r) for r in fetch_all(f.tenant, "campaign_league", _params(f))]


def league(f: Filters, min_sent: int = LEAGUE_MIN_SENT) -> list[dict[str, Any]]:
    """Campaigns with at least `min_sent` sent, ranked by CTR (then by sent)."""
    rows = [r for r in campaigns(f) if (r.get("sent") or 0) >= min_sent]
    rows.sort(key=lambda r: (-(r["ctr"] or 0.0), -(r["sent"] or 0), str(r.get("campaign_id"))))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows
