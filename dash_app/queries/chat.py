"""Conversation KPIs for a window: Σ/Σ rates over the daily marts, distinct counts and percentiles
over the fct_* rows (analytics schema, reader role, tenant RLS)."""

from __future__ import annotations

from typing import Any

from dash_app.filters import Filters
from dash_app.kpi import ratio
from dash_app.queries.db import fetch_all, fetch_one

DEFAULT_SL_THRESHOLD_S = 60
DRILL_ROW_LIMIT = 500


def window_params(f: Filters) -> dict[str, Any]:
    return {"start": f.start, "end": f.end, "channel": f.channel}


def unique_contacts(f: Filters) -> int:
    """Distinct contacts with a message in the window (over fct_messages)."""
    return int(fetch_one(f.tenant, "unique_contacts", window_params(f)).get("unique_contacts") or 0)


def totals(f: Filters, contacts: int | None = None) -> dict[str, Any]:
    """Σ of the daily mart over the window and the derived rates (`contacts`: from unique_contacts)."""
    t = dict(fetch_one(f.tenant, "chat_totals", window_params(f)))
    t["unique_contacts"] = contacts
    t["fallback_rate"] = ratio(t.get("fallback_count"), t.get("bot_answered_inbound"))
    t["containment_rate"] = ratio(t.get("contained_conversations"), t.get("bot_conversations"))
    t["escalation_rate"] = ratio(t.get("escalated_conversations"), t.get("bot_conversations"))
    t["delivery_rate"] = ratio(t.get("delivered_outbound"), t.get("sent_outbound"))
    t["read_rate"] = ratio(t.get("read_outbound"), t.get("delivered_outbound"))
    t["messages_per_conversation"] = ratio(t.get("messages"), t.get("conversations"))
    for part in ("inbound", "bot", "agent"):
        t[f"{part}_per_conversation"] = ratio(t.get(f"{part}_messages"), t.get("conversations"))
    return t


def sessions(f: Filters) -> dict[str, Any]:
    """Agent-session medians/p90 and service level (T per tenant), abandonment, transfer rates."""
    s = dict(fetch_one(f.tenant, "session_stats", {**window_params(f), "sl_default": DEFAULT_SL_THRESHOLD_S}))
    for name in ("wait", "handle", "first_response"):
        pct = s.pop(f"{name}_pct", None) or [None, None]
        s[f"{name}_p50"], s[f"{name}_p90"] = pct[0], pct[1]
    base = (s.get("assigned_with_wait") or 0) + (s.get("abandoned") or 0)
    s["service_level"] = ratio(s.get("within_sl"), base)
    s["abandonment_rate"] = ratio(s.get("abandoned"), s.get("queued"))
    s["transfer_rate"] = ratio(s.get("transfers"), s.get("sessions"))
    return s


def repeat_contact(f: Filters) -> float | None:
    """Contacts back within 24 h of a closed conversation ÷ contacts with a closed conversation."""
    r = fetch_one(f.tenant, "repeat_contact", window_params(f))
    return ratio(r.get("repeat_contacts"), r.get("closed_contacts"))


def daily(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "chat_daily", window_params(f))


def wait_buckets(session_stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Assigned sessions per wait bucket (1..5), from the `sessions()` result (same scan)."""
    return [{"bucket": b, "sessions": int(session_stats.get(f"wait_b{b}") or 0)} for b in range(1, 6)]


def heatmap(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "volume_heatmap", window_params(f))


def heatmap_rows(
    f: Filters, weekday_num: int, hour: int, limit: int = DRILL_ROW_LIMIT
) -> list[dict[str, Any]]:
    """The inbound messages behind one weekday × hour cell."""
    return fetch_all(
        f.tenant,
        "heatmap_drill",
        {**window_params(f), "weekday_num": int(weekday_num), "hour": int(hour), "row_limit": int(limit)},
    )


def intents(f: Filters, limit: int = 50) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "intents", {**window_params(f), "row_limit": int(limit)})


def agents(f: Filters) -> list[dict[str, Any]]:
    return fetch_all(f.tenant, "agents", window_params(f))


def data_bounds(tenant: str) -> dict[str, Any]:
    return fetch_one(tenant, "data_bounds", {})
