"""The network view: cooperatives side by side for one window, from the one KPI source.

Each tenant's KPIs come from `lib.analysis.kpis` through a per-tenant `Fetch` (so each query runs
under that tenant's RLS: there is no cross-tenant SQL). Only the caller decides which tenants it
may ask for (the dashboards: admins only). The network row sums the numerators and denominators of
the tenants (rates stay Σnum ÷ Σden); medians of times are not additive, so the network's wait is
the median of the cooperatives' medians.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lib.analysis import kpis

# The columns of the network page, in order (keys of lib.analysis.kpis.KPIS).
NETWORK_KPIS = (
    "messages",
    "conversations",
    "wait_p50",
    "service_level",
    "containment",
    "fallback_rate",
    "push_ctr",
)
# Rates: (numerator, denominator) fields of the per-tenant parts, summed for the network total.
_RATE_PARTS = {
    "service_level": ("within_sl", "sl_base"),
    "containment": ("contained_conversations", "bot_conversations"),
    "fallback_rate": ("fallback_count", "bot_answered_inbound"),
    "push_ctr": ("clicks", "sent"),
}
_COUNTS = ("messages", "conversations")


def tenant_kpis(fetch: kpis.Fetch, w: kpis.Window) -> dict[str, Any]:
    """The network columns of one tenant for the window, with the parts the totals need."""
    chat = kpis.chat_totals(fetch, w)
    sess = kpis.sessions(fetch, w)
    push = kpis.push_totals(fetch, w)
    row: dict[str, Any] = {
        "messages": kpis.number(chat.get("messages")),
        "conversations": kpis.number(chat.get("conversations")),
        "wait_p50": kpis.number(sess.get("wait_p50")),
        "service_level": sess.get("service_level"),
        "containment": chat.get("containment"),
        "fallback_rate": chat.get("fallback_rate"),
        "push_ctr": push.get("ctr"),
        "sl_threshold": sess.get("sl_threshold"),
    }
    parts = {**chat, **sess, **push}
    for num, den in _RATE_PARTS.values():
        row[num], row[den] = kpis.number(parts.get(num)) or 0.0, kpis.number(parts.get(den)) or 0.0
    return row


def network_total(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Σ of the counts; rates as Σnumerator ÷ Σdenominator; wait as the median of the medians."""
    rows = list(rows)
    out: dict[str, Any] = {k: sum(kpis.number(r.get(k)) or 0.0 for r in rows) for k in _COUNTS}
    for key, (num, den) in _RATE_PARTS.items():
        out[num] = sum(kpis.number(r.get(num)) or 0.0 for r in rows)
        out[den] = sum(kpis.number(r.get(den)) or 0.0 for r in rows)
        out[key] = kpis.ratio(out[num], out[den])
    out["wait_p50"] = network_median(rows)["wait_p50"]
    return out


def network_median(rows: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """The median cooperative for each column (tenants without a value left out)."""
    rows = list(rows)
    out: dict[str, float | None] = {}
    for key in NETWORK_KPIS:
        values = [v for r in rows if (v := kpis.number(r.get(key))) is not None]
        out[key] = statistics.median(values) if values else None
    return out


def rank(rows: list[dict[str, Any]], key: str = "messages") -> list[dict[str, Any]]:
    """Rows ordered by `key` (best first given the KPI's direction; None last), `rank` from 1."""
    up = kpis.KPIS[key].up_is_good is not False

    def order(r: Mapping[str, Any]) -> tuple:
        v = kpis.number(r.get(key))
        return (v is None, -(v or 0.0) if up else (v or 0.0), str(r.get("tenant")))

    ranked = sorted(rows, key=order)
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return ranked


def _kpis_of(fetch_for: Callable[[str], kpis.Fetch], tenant: str, w: kpis.Window) -> dict[str, Any]:
    return tenant_kpis(fetch_for(tenant), w)


def network(
    tenants: Iterable[str],
    fetch_for: Callable[[str], kpis.Fetch],
    w: kpis.Window,
    previous: kpis.Window | None = None,
    *,
    run: Callable[[dict[str, Callable[[], Any]]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """{rows, total, median, previous_total}: one row per tenant (`tenant`, the columns, `prev`).

    `run` executes the per-tenant calls (the dashboards pass their concurrent `gather`); by default
    they run one after the other. `previous` None: no deltas (the rows' `prev` is empty)."""
    tenants = list(tenants)
    calls: dict[str, Callable[[], Any]] = {}
    for t in tenants:
        calls[f"cur:{t}"] = functools.partial(_kpis_of, fetch_for, t, w)
        if previous is not None:
            calls[f"prev:{t}"] = functools.partial(_kpis_of, fetch_for, t, previous)
    results = run(calls) if run is not None else {k: fn() for k, fn in calls.items()}
    rows = [{"tenant": t, **results[f"cur:{t}"], "prev": results.get(f"prev:{t}", {})} for t in tenants]
    prev_rows = [r["prev"] for r in rows if r["prev"]]
    return {
        "rows": rank(rows),
        "total": network_total(rows),
        "median": network_median(rows),
        "previous_total": network_total(prev_rows) if prev_rows else {},
    }
