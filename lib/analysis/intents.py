"""(2) Intents and fallbacks (mart_intent_performance, mart_daily_kpis, fct_messages)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib.analysis import display as d
from lib.analysis import kpis as K
from lib.analysis.db import read_frames, to_numeric
from lib.analysis.kpis import FALLBACK_TARGET, ratio
from lib.analysis.params import Filters


def load(filters: Filters) -> dict[str, pd.DataFrame]:
    """Intents, daily fallback counts and the top fallback texts."""
    frames = read_frames(
        filters.tenant, ["intents_by_intent", "intents_daily", "intents_fallback_texts"], filters.sql_params()
    )
    top = K.analysis_fetch(filters.tenant)("kpi_intents", {**filters.window.params(), "row_limit": 1000})
    frames["top_intents"] = pd.DataFrame(
        top, columns=["intent", "occurrences", "escalated", "fallbacks", "total_all"]
    )
    to_numeric(frames["top_intents"], ["occurrences", "escalated", "fallbacks", "total_all"])
    to_numeric(frames["intents_by_intent"], ["occurrences", "fallbacks", "escalated"])
    to_numeric(frames["intents_daily"], ["fallback_count", "bot_answered_inbound", "inbound_messages"])
    to_numeric(frames["intents_fallback_texts"], ["fallbacks", "contacts"])
    return frames


def pareto(intents: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """Intents ranked by conversations (first meaningful intent, the same rows as the Dash Pareto)
    with the share and cumulative share over ALL intents (`total_all` when given) and the share
    that escalated; shares are ratios 0..1."""
    if intents.empty:
        return pd.DataFrame(
            columns=[
                "intent",
                "occurrences",
                "fallbacks",
                "escalated",
                "share",
                "cum_share",
                "escalation_pct",
            ]
        )
    agg = intents.groupby("intent")[["occurrences", "fallbacks", "escalated"]].sum()
    agg = agg.sort_values("occurrences", ascending=False)
    total = agg["occurrences"].sum()
    if "total_all" in intents.columns and intents["total_all"].notna().any():
        total = max(total, float(intents["total_all"].max()))
    agg["share"] = agg["occurrences"] / total if total else 0.0
    agg["cum_share"] = agg["share"].cumsum()
    agg["escalation_pct"] = [ratio(e, o) for e, o in zip(agg["escalated"], agg["occurrences"], strict=True)]
    return agg.head(top).reset_index()


def pareto_figure(p: pd.DataFrame) -> go.Figure:
    """Bars of occurrences with the cumulative share line."""
    title = "Primer intent de las conversaciones (Pareto, sin bienvenida)"
    if p.empty:
        return d.empty_figure(title)
    fig = go.Figure()
    fig.add_bar(x=p["intent"], y=p["occurrences"], name="Ocurrencias", marker_color=d.PALETTE["primary"])
    fig.add_scatter(
        x=p["intent"],
        y=p["cum_share"],
        name="% acumulado (de todos los intents)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": d.PALETTE["secondary"]},
    )
    fig.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1.05], "tickformat": ".0%", "title": "%"},
        xaxis={"tickangle": -30},
    )
    return d.style_figure(fig, title, height=440)


def daily_fallback(daily: pd.DataFrame) -> pd.DataFrame:
    """Per day: fallback rate (ratio 0..1, Σ/Σ of that day)."""
    if daily.empty:
        return pd.DataFrame(columns=["date", "fallback_count", "bot_answered_inbound", "fallback_rate"])
    day = daily.groupby("date")[["fallback_count", "bot_answered_inbound"]].sum().reset_index()
    day["date"] = pd.to_datetime(day["date"])
    day["fallback_rate"] = [
        ratio(f, b) for f, b in zip(day["fallback_count"], day["bot_answered_inbound"], strict=True)
    ]
    return day


def fallback_figure(day: pd.DataFrame) -> go.Figure:
    """Daily fallback rate against the 15 % target."""
    title = "Tasa de fallback por día"
    if day.empty:
        return d.empty_figure(title)
    fig = go.Figure()
    fig.add_scatter(
        x=day["date"],
        y=day["fallback_rate"],
        name="Fallback",
        mode="lines+markers",
        line={"color": d.PALETTE["error"]},
    )
    fig.add_hline(
        y=FALLBACK_TARGET, line_dash="dash", line_color=d.PALETTE["neutral"], annotation_text="meta < 15 %"
    )
    fig.update_yaxes(title="%", rangemode="tozero", tickformat=".0%")
    return d.style_figure(fig, title)


def channel_table(intents: pd.DataFrame) -> pd.DataFrame:
    """Fallbacks and escalations by channel."""
    if intents.empty:
        return pd.DataFrame()
    agg = intents.groupby("channel")[["occurrences", "fallbacks", "escalated"]].sum()
    agg["Fallback %"] = [ratio(f, o) for f, o in zip(agg["fallbacks"], agg["occurrences"], strict=True)]
    agg["Escalamiento %"] = [ratio(e, o) for e, o in zip(agg["escalated"], agg["occurrences"], strict=True)]
    agg = agg.reset_index()
    return agg.rename(
        columns={
            "channel": "Canal",
            "occurrences": "Ocurrencias",
            "fallbacks": "Fallbacks",
            "escalated": "Escaladas",
        }
    )


def kpis(filters: Filters, intents: pd.DataFrame | None = None) -> dict[str, tuple[object, str]]:
    """Headline numbers from the one KPI source (fallback rate as on the Bot page)."""
    chat = K.chat_totals(K.analysis_fetch(filters.tenant), filters.window)
    n_intents = intents["intent"].nunique() if intents is not None and not intents.empty else 0
    return {
        "Intents detectados": (n_intents, "int"),
        "Mensajes con intent": (chat["bot_answered_inbound"], "int"),
        "Fallbacks": (chat["fallback_count"], "int"),
        "Tasa de fallback": (chat["fallback_rate"], "fallback_rate"),
        "Escalamiento": (chat["escalation"], "escalation"),
    }


def report(filters: Filters) -> None:
    """Render the whole view."""
    frames = load(filters)
    intents, daily, texts = (
        frames["intents_by_intent"],
        frames["intents_daily"],
        frames["intents_fallback_texts"],
    )
    d.show_kpis(kpis(filters, intents))
    p = pareto(frames["top_intents"])
    d.show_figure(pareto_figure(p))
    d.show_figure(fallback_figure(daily_fallback(daily)))
    table = p.rename(
        columns={
            "intent": "Intent",
            "occurrences": "Conversaciones",
            "fallbacks": "Con fallback",
            "escalated": "Escaladas",
            "share": "Del total %",
            "cum_share": "Acumulado %",
            "escalation_pct": "Escalan %",
        }
    )
    d.show_table(table, caption="Top intents")
    d.show_table(channel_table(intents), caption="Por canal")
    d.show_table(
        texts.rename(
            columns={
                "text": "Texto",
                "fallbacks": "Fallbacks",
                "contacts": "Contactos",
                "last_seen": "Último",
            }
        ),
        caption="Textos que terminaron en fallback",
    )
