"""(1) Conversation funnel and escalation paths (fct_conversations)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib.analysis import display as d
from lib.analysis import kpis as K
from lib.analysis.db import read_frames, to_numeric
from lib.analysis.kpis import ratio
from lib.analysis.params import Filters

STAGES = [
    ("conversations", "Conversaciones"),
    ("bot_conversations", "Atendidas por el bot"),
    ("reached_queue", "Escaladas a la cola"),
    ("assigned", "Asignadas a un asesor"),
    ("human_answered", "Respondidas por un asesor"),
]
OUTCOME_ORDER = [
    "Contenida por el bot",
    "Atendida por asesor",
    "Transferida",
    "Abandonada en cola",
    "Sin bot ni asesor",
]
COUNT_COLUMNS = [c for c, _ in STAGES] + ["escalated", "contained", "with_fallback"]


def load(filters: Filters) -> dict[str, pd.DataFrame]:
    """Conversation groups and wait quantiles of the window."""
    frames = read_frames(filters.tenant, ["funnel_conversations", "funnel_wait"], filters.sql_params())
    to_numeric(frames["funnel_conversations"], COUNT_COLUMNS)
    to_numeric(frames["funnel_wait"], ["assigned", "wait_p50", "wait_p90", "wait_mean"])
    return frames


def kpis(filters: Filters) -> dict[str, tuple[object, str]]:
    """Headline numbers from the one KPI source (the values a Dash page shows for the same window)."""
    fetch, w = K.analysis_fetch(filters.tenant), filters.window
    chat, sess = K.chat_totals(fetch, w), K.sessions(fetch, w)
    return {
        "Conversaciones": (chat["conversations"], "conversations"),
        "Contención del bot": (chat["containment"], "containment"),
        "Escalamiento": (chat["escalation"], "escalation"),
        "Tasa de fallback": (chat["fallback_rate"], "fallback_rate"),
        "Espera mediana": (sess["wait_p50"], "wait_p50"),
    }


def funnel_stages(conv: pd.DataFrame) -> pd.DataFrame:
    """Long frame (channel, stage, conversations) in funnel order."""
    if conv.empty:
        return pd.DataFrame(columns=["channel", "stage", "conversations"])
    by_channel = conv.groupby("channel")[[c for c, _ in STAGES]].sum()
    rows = [
        {"channel": ch, "stage": label, "conversations": int(by_channel.loc[ch, col])}
        for ch in by_channel.index
        for col, label in STAGES
    ]
    return pd.DataFrame(rows)


def funnel_figure(stages: pd.DataFrame) -> go.Figure:
    """One funnel trace per channel."""
    title = "Embudo de conversaciones"
    if stages.empty:
        return d.empty_figure(title)
    fig = go.Figure()
    for ch, part in stages.groupby("channel", sort=True):
        fig.add_trace(
            go.Funnel(
                name=str(ch), y=part["stage"], x=part["conversations"], textinfo="value+percent initial"
            )
        )
    return d.style_figure(fig, title, height=420)


def escalation_paths(conv: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """Links channel → first intent (top N, rest 'Otros') → outcome, with conversation counts."""
    if conv.empty:
        return pd.DataFrame(columns=["source", "target", "value"])
    conv = conv.copy()
    ranking = conv.groupby("first_intent")["conversations"].sum().sort_values(ascending=False)
    keep = set(ranking.head(top).index)
    conv["intent_group"] = conv["first_intent"].where(conv["first_intent"].isin(keep), "Otros intents")
    a = conv.groupby(["channel", "intent_group"])["conversations"].sum().reset_index()
    a.columns = ["source", "target", "value"]
    a["source"] = "Canal: " + a["source"].astype(str)
    b = conv.groupby(["intent_group", "outcome"])["conversations"].sum().reset_index()
    b.columns = ["source", "target", "value"]
    links = pd.concat([a, b], ignore_index=True)
    return links[links["value"] > 0].reset_index(drop=True)


def sankey_figure(links: pd.DataFrame) -> go.Figure:
    """Sankey of escalation paths."""
    title = "Rutas de escalamiento: canal → intent inicial → resultado"
    if links.empty:
        return d.empty_figure(title)
    labels = list(dict.fromkeys(list(links["source"]) + list(links["target"])))
    index = {label: i for i, label in enumerate(labels)}
    colors = []
    for label in labels:
        if label in OUTCOME_ORDER:
            colors.append(
                {
                    "Contenida por el bot": d.PALETTE["secondary"],
                    "Abandonada en cola": d.PALETTE["error"],
                }.get(label, d.PALETTE["primary"])
            )
        else:
            colors.append(d.PALETTE["neutral"])
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 14, "thickness": 16, "color": colors},
            link={
                "source": [index[s] for s in links["source"]],
                "target": [index[t] for t in links["target"]],
                "value": links["value"].astype(float).tolist(),
            },
        )
    )
    return d.style_figure(fig, title, height=480)


def daily_rates(conv: pd.DataFrame) -> pd.DataFrame:
    """Per day: conversations, containment and escalation (ratios 0..1, Σ/Σ of that day)."""
    if conv.empty:
        return pd.DataFrame(columns=["date", "conversations", "containment", "escalation"])
    day = conv.groupby("date")[["conversations", "bot_conversations", "contained", "escalated"]].sum()
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(day.index),
            "conversations": day["conversations"].to_numpy(),
            "containment": [
                ratio(c, b) for c, b in zip(day["contained"], day["bot_conversations"], strict=True)
            ],
            "escalation": [
                ratio(e, b) for e, b in zip(day["escalated"], day["bot_conversations"], strict=True)
            ],
        }
    )
    return out


def daily_figure(daily: pd.DataFrame) -> go.Figure:
    """Conversations per day (bars) with containment and escalation rates (lines, right axis)."""
    title = "Conversaciones por día, contención y escalamiento"
    if daily.empty:
        return d.empty_figure(title)
    fig = go.Figure()
    fig.add_bar(
        x=daily["date"], y=daily["conversations"], name="Conversaciones", marker_color=d.PALETTE["neutral"]
    )
    fig.add_scatter(
        x=daily["date"],
        y=daily["containment"],
        name="Contención",
        yaxis="y2",
        mode="lines",
        line={"color": d.PALETTE["secondary"], "width": 2},
    )
    fig.add_scatter(
        x=daily["date"],
        y=daily["escalation"],
        name="Escalamiento",
        yaxis="y2",
        mode="lines",
        line={"color": d.PALETTE["primary"], "width": 2},
    )
    fig.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "tickformat": ".0%", "title": "%"}
    )
    return d.style_figure(fig, title)


def outcome_table(conv: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """Per first intent: conversations and the share of each outcome."""
    if conv.empty:
        return pd.DataFrame()
    pivot = conv.pivot_table(
        index="first_intent", columns="outcome", values="conversations", aggfunc="sum", fill_value=0
    )
    cols = [c for c in OUTCOME_ORDER if c in pivot.columns]
    pivot = pivot[cols]
    total = pivot.sum(axis=1)
    out = pivot.div(total, axis=0)
    out.insert(0, "Conversaciones", total.astype(int))
    out = out.sort_values("Conversaciones", ascending=False).head(top)
    out.columns = ["Conversaciones"] + [f"{c} %" for c in cols]
    return out.reset_index().rename(columns={"first_intent": "Intent inicial"})


def report(filters: Filters) -> None:
    """Render the whole view."""
    frames = load(filters)
    conv = frames["funnel_conversations"]
    d.show_kpis(kpis(filters))
    if conv.empty:
        d.show_note("No hay conversaciones en el periodo seleccionado.")
    d.show_figure(funnel_figure(funnel_stages(conv)))
    d.show_figure(sankey_figure(escalation_paths(conv)))
    d.show_figure(daily_figure(daily_rates(conv)))
    d.show_table(outcome_table(conv), caption="Resultado por intent inicial")
