"""The one KPI source: every KPI of kpis.md for a tenant, window and channel, computed from the marts.

Dash (dash_app.queries), the Voila views (lib.analysis.*), the exports and the weekly report
(lib.report) all call these functions; none computes a KPI itself. Rates are Σnumerator ÷
Σdenominator over the window on a 0..1 scale, None when the denominator is 0 (`ratio`).

The SQL is in `lib/analysis/sql/kpi_*.sql` (`:tenant`, `:start`, `:end`, `:channel`; RLS applies
too). Callers pass a `Fetch`: `(query name, params) -> rows`, run under their own login (the web
process caches, the analysis kernels do not).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

Fetch = Callable[[str, Mapping[str, Any]], list[dict[str, Any]]]
Kind = Literal["count", "rate", "seconds", "ratio"]
CHANNELS = ("all", "cloudapi", "webchat")
LEAGUE_MIN_SENT = 100
DEFAULT_SL_SECONDS = 60


def ratio(numerator: object, denominator: object) -> float | None:
    """Σnumerator ÷ Σdenominator (0..1); None when either is missing or the denominator is 0."""
    num, den = number(numerator), number(denominator)
    if num is None or den is None or den == 0:
        return None
    return num / den


def number(value: object) -> float | None:
    """A plain float from Decimal/int/numpy/str; None for NULL or NaN."""
    if value is None:
        return None
    try:
        f = float(value if not isinstance(value, Decimal) else float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class Window:
    """Inclusive tenant-local dates and a chat channel ('all', 'cloudapi', 'webchat')."""

    start: date
    end: date
    channel: str = "all"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Window:
        """The period of equal length just before this one."""
        end = self.start - timedelta(days=1)
        return Window(end - timedelta(days=self.days - 1), end, self.channel)

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "channel": self.channel}


@dataclass(frozen=True)
class KpiDef:
    """What a KPI is called and how it reads (the cards, tables and exports use the same)."""

    label: str
    kind: Kind = "count"
    up_is_good: bool | None = True
    target: float | None = None
    target_op: str | None = None
    help: str = ""

    @property
    def unit(self) -> str:
        """The unit of an exported raw value."""
        return {"rate": "0-1", "seconds": "s", "ratio": "mensajes", "count": ""}[self.kind]


WAIT_TARGET_S = 60
FALLBACK_TARGET = 0.15

KPIS: dict[str, KpiDef] = {
    "messages": KpiDef("Mensajes", help="mensajes del periodo"),
    "unique_contacts": KpiDef("Contactos únicos", help="contactos distintos con al menos un mensaje"),
    "conversations": KpiDef("Conversaciones", help="por fecha del primer mensaje (corte de 30 min)"),
    "agent_conversations": KpiDef("Sesiones de agente", help="sesiones de agente por su primer mensaje"),
    "inbound_messages": KpiDef("Mensajes entrantes"),
    "bot_messages": KpiDef("Mensajes del bot"),
    "agent_messages": KpiDef("Mensajes de agente"),
    "bot_conversations": KpiDef("Conversaciones con bot"),
    "wait_p50": KpiDef(
        "Espera (mediana)", "seconds", False, WAIT_TARGET_S, "<", "asignada − en cola; p90 y media aparte"
    ),
    "wait_p90": KpiDef("Espera (p90)", "seconds", False),
    "first_response_p50": KpiDef("Primera respuesta humana", "seconds", False),
    "handle_p50": KpiDef("Tiempo de atención (AHT)", "seconds", None),
    "service_level": KpiDef(
        "Nivel de servicio", "rate", True, help="asignadas con espera ≤ T ÷ (asignadas + abandonadas > 5 s)"
    ),
    "abandonment": KpiDef(
        "Abandono", "rate", False, help="en cola, nunca asignadas, cerradas tras > 5 s ÷ en cola"
    ),
    "transfers": KpiDef("Transferencias", "rate", False, help="sesiones cerradas con AGENT_TRANSFER ÷ sesiones"),
    "containment": KpiDef(
        "Contención", "rate", True,
        help="conversaciones con bot, sin humano y sin pasar a la cola de agentes ÷ conversaciones con bot",
    ),
    "escalation": KpiDef(
        "Escalamiento", "rate", False,
        help="conversaciones con bot que pasaron a la cola de agentes o tuvieron humano ÷ conversaciones con bot",
    ),
    "fallback_rate": KpiDef(
        "Tasa de fallback", "rate", False, FALLBACK_TARGET, "<",
        "fallbacks entrantes ÷ mensajes entrantes con intent (respondidos por el bot)",
    ),
    "messages_per_conversation": KpiDef("Mensajes por conversación", "ratio", None),
    "repeat_contact": KpiDef(
        "Recontacto ≤ 24 h", "rate", False,
        help="contactos que vuelven ≤ 24 h tras cerrar una conversación ÷ contactos con una conversación "
        "cerrada hace más de 24 h",
    ),
    "outbound_delivery": KpiDef("Entrega saliente", "rate", True, help="entregados ÷ enviados (estado del mensaje)"),
    "outbound_read": KpiDef("Lectura saliente", "rate", True, help="leídos ÷ entregados"),
    "push_sent": KpiDef("Push enviados"),
    "push_delivery": KpiDef("Tasa de entrega", "rate", True, help="entregados ÷ enviados"),
    "push_ctr": KpiDef("CTR (÷ enviados)", "rate", True, help="clics ÷ enviados (definición de Indigitall)"),
    "push_ctr_delivered": KpiDef("CTR (÷ entregados)", "rate", True, help="clics ÷ entregados"),
    "push_open": KpiDef("Tasa de apertura", "rate", True, help="abiertos ÷ entregados"),
}  # fmt: skip


def analysis_fetch(tenant: str) -> Fetch:
    """A Fetch for the analysis kernels (lib.analysis.db: their own login, RLS by tenant)."""
    from lib.analysis.db import read_frame

    def fetch(name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        frame = read_frame(tenant, name, {**params, "tenant": tenant})
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    return fetch


def _one(fetch: Fetch, name: str, w: Window) -> dict[str, Any]:
    rows = fetch(name, w.params())
    return dict(rows[0]) if rows else {}


# -- conversations ----------------------------------------------------------------------------------
def chat_totals(fetch: Fetch, w: Window) -> dict[str, Any]:
    """Σ of mart_daily_kpis over the window with the derived rates."""
    t = {k: number(v) or 0.0 for k, v in _one(fetch, "kpi_chat_totals", w).items()}
    t["fallback_rate"] = ratio(t.get("fallback_count"), t.get("bot_answered_inbound"))
    t["containment"] = ratio(t.get("contained_conversations"), t.get("bot_conversations"))
    t["escalation"] = ratio(t.get("escalated_conversations"), t.get("bot_conversations"))
    t["outbound_delivery"] = ratio(t.get("delivered_outbound"), t.get("sent_outbound"))
    t["outbound_read"] = ratio(t.get("read_outbound"), t.get("delivered_outbound"))
    t["messages_per_conversation"] = ratio(t.get("messages"), t.get("conversations"))
    for part in ("inbound", "bot", "agent"):
        t[f"{part}_per_conversation"] = ratio(t.get(f"{part}_messages"), t.get("conversations"))
    return t


def unique_contacts(fetch: Fetch, w: Window) -> int:
    """Distinct contacts with a message in the window (not additive over days)."""
    return int(number(_one(fetch, "kpi_contacts", w).get("unique_contacts")) or 0)


def sessions(fetch: Fetch, w: Window) -> dict[str, Any]:
    """Agent-session medians / p90 / means, wait buckets, service level, abandonment, transfers."""
    s = _one(fetch, "kpi_sessions", w)
    for name in ("wait", "handle", "first_response"):
        pct = s.pop(f"{name}_pct", None) or [None, None]
        s[f"{name}_p50"], s[f"{name}_p90"] = number(pct[0]), number(pct[1])
        s[f"{name}_avg"] = number(s.get(f"{name}_avg"))
    s["sl_threshold"] = int(number(s.get("sl_threshold")) or DEFAULT_SL_SECONDS)
    s["service_level"] = ratio(s.get("within_sl"), s.get("sl_base"))
    s["abandonment"] = ratio(s.get("abandoned"), s.get("queued"))
    s["transfers"] = ratio(s.get("transfers"), s.get("sessions"))
    return s


def wait_buckets(session_stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Assigned sessions per wait bucket (1 < 1 min .. 5 ≥ 30 min) from `sessions()`."""
    return [{"bucket": b, "sessions": int(number(session_stats.get(f"wait_b{b}")) or 0)} for b in range(1, 6)]


def repeat_contact(fetch: Fetch, w: Window) -> float | None:
    """Contacts back ≤ 24 h after an observable closed conversation ÷ contacts with one."""
    r = _one(fetch, "kpi_repeat", w)
    return ratio(r.get("repeat_contacts"), r.get("closed_contacts"))


# -- push -------------------------------------------------------------------------------------------
PUSH_COUNTS = ("sent", "delivered", "opened", "clicks")


def push_rates(row: Mapping[str, Any]) -> dict[str, Any]:
    """Delivery, CTR (÷ sent, Indigitall's), CTR ÷ delivered and open rate of one block of counts."""
    out = {k: number(v) if k in PUSH_COUNTS else v for k, v in row.items()}
    out["delivery_rate"] = ratio(row.get("delivered"), row.get("sent"))
    out["ctr"] = ratio(row.get("clicks"), row.get("sent"))
    out["ctr_delivered"] = ratio(row.get("clicks"), row.get("delivered"))
    out["open_rate"] = ratio(row.get("opened"), row.get("delivered"))
    return out


def push_by_platform(fetch: Fetch, w: Window) -> list[dict[str, Any]]:
    """Per platform: Σ counts of mart_push_daily and their rates (push has no chat channel)."""
    return [push_rates(r) for r in fetch("kpi_push_platforms", w.params())]


def push_totals(fetch: Fetch, w: Window, platforms: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """All platforms summed, then the rates (never an average of platform or daily rates)."""
    rows = platforms if platforms is not None else push_by_platform(fetch, w)
    return push_rates({k: sum(number(r.get(k)) or 0 for r in rows) for k in PUSH_COUNTS})


def league(campaigns: list[dict[str, Any]], min_sent: int = LEAGUE_MIN_SENT) -> list[dict[str, Any]]:
    """Campaigns with ≥ min_sent sent ranked by CTR (÷ sent), then sent; `rank` from 1."""
    rows = [push_rates(r) for r in campaigns if (number(r.get("sent")) or 0) >= min_sent]
    rows.sort(key=lambda r: (-(r["ctr"] or 0.0), -(r["sent"] or 0), str(r.get("campaign_id"))))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows


# -- every KPI --------------------------------------------------------------------------------------
def window_kpis(fetch: Fetch, w: Window) -> dict[str, float | None]:
    """Every KPI of KPIS for the window: the values each surface shows."""
    chat = chat_totals(fetch, w)
    sess = sessions(fetch, w)
    push = push_totals(fetch, w)
    out: dict[str, float | None] = {
        key: number(chat.get(key))
        for key in (
            "messages", "conversations", "agent_conversations", "inbound_messages", "bot_messages",
            "agent_messages", "bot_conversations",
        )
    }  # fmt: skip
    out["unique_contacts"] = float(unique_contacts(fetch, w))
    for key in ("containment", "escalation", "fallback_rate", "messages_per_conversation"):
        out[key] = chat.get(key)
    out["outbound_delivery"], out["outbound_read"] = chat["outbound_delivery"], chat["outbound_read"]
    for key in ("wait_p50", "wait_p90", "first_response_p50", "handle_p50", "service_level", "abandonment",
                "transfers"):  # fmt: skip
        out[key] = number(sess.get(key))
    out["repeat_contact"] = repeat_contact(fetch, w)
    out["push_sent"] = push["sent"]
    out["push_delivery"], out["push_ctr"] = push["delivery_rate"], push["ctr"]
    out["push_ctr_delivered"], out["push_open"] = push["ctr_delivered"], push["open_rate"]
    return out


def format_value(key: str, value: object) -> str:
    """A KPI value as every surface writes it (es-CO)."""
    from lib.analysis.fmt import fmt_int, fmt_num, fmt_pct, fmt_seconds

    kind = KPIS[key].kind if key in KPIS else "count"
    if kind == "rate":
        return fmt_pct(value)
    if kind == "seconds":
        return fmt_seconds(value)
    if kind == "ratio":
        return fmt_num(value, 2)
    return fmt_int(value)
