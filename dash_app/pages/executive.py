"""Executive: the five headline cards, messages per day, direction mix, containment, service level,
push CTR and the campaign league."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dash_app.components.cards import graph_card, kpi_placeholder, section
from dash_app.components.exports import export_links
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.kpi_card import kpi_row
from dash_app.components.tables import col, grid
from dash_app.figures import direction_donut, mark_partial, messages_per_day
from dash_app.filters import resolve_filters
from dash_app.kpi import WAIT_TARGET_S, Kpi, containment_kpi, fallback_kpi
from dash_app.pages._common import comparable_previous, trusted_filters
from dash_app.queries import chat, fresh, push
from dash_app.queries.parallel import gather
from dash_app.security import current_user

PATH = "/"
NAME = "Ejecutivo"

LEAGUE_COLUMNS = [
    col("rank", "#", "int", maxWidth=70),
    col("campaign_name", "Campaña", minWidth=200),
    col("channel", "Canal", maxWidth=110),
    col("sent", "Enviados", "int"),
    col("delivered", "Entregados", "int"),
    col("clicks", "Clics", "int"),
    col("delivery_rate", "Entrega", "pct"),
    col("ctr", "CTR (÷ enviados)", "pct", sort="desc"),
]


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    body = [
        kpi_placeholder("exec-kpis"),
        dbc.Row(
            [
                dbc.Col(graph_card("Mensajes por día", "exec-daily", subtitle="por dirección"), lg=8),
                dbc.Col(graph_card("Mezcla por dirección", "exec-donut"), lg=4),
            ],
            className="g-3 mb-3",
        ),
        kpi_placeholder("exec-kpis-2"),
        section(
            "Liga de campañas",
            grid("exec-league", LEAGUE_COLUMNS, height=360, csv_name="liga_campanas.csv"),
            subtitle="campañas con ≥ 100 enviados, por CTR",
            tools=export_links("campanas", f, link_id="exec-league-export"),
        ),
    ]
    return page_frame("Resumen ejecutivo", f, user, body)


def headline_kpis(
    cur: dict[str, Any], prev: dict[str, Any], cur_s: dict[str, Any], prev_s: dict[str, Any]
) -> list[Kpi]:
    """Messages, contacts, conversations, wait time, fallback rate."""
    return [
        Kpi("messages", "Mensajes", cur.get("messages"), prev.get("messages")),
        Kpi("contacts", "Contactos únicos", cur.get("unique_contacts"), prev.get("unique_contacts")),
        Kpi(
            "conversations",
            "Conversaciones",
            cur.get("conversations"),
            prev.get("conversations"),
            detail=f"sesiones de agente: {int(cur.get('agent_conversations') or 0):,}".replace(",", "."),
        ),
        Kpi(
            "wait",
            "Espera (mediana)",
            cur_s.get("wait_p50"),
            prev_s.get("wait_p50"),
            kind="seconds",
            up_is_good=False,
            target=WAIT_TARGET_S,
            target_op="<",
            detail=_p90_detail(cur_s.get("wait_p90"), cur_s.get("wait_avg")),
        ),
        fallback_kpi(cur, prev),
    ]


def _p90_detail(p90: Any, mean: Any) -> str:
    k = Kpi("x", "", p90, kind="seconds")
    m = Kpi("x", "", mean, kind="seconds")
    return f"p90 {k.value_text} · media {m.value_text}"


def secondary_kpis(
    cur: dict[str, Any],
    prev: dict[str, Any],
    cur_s: dict[str, Any],
    prev_s: dict[str, Any],
    cur_p: dict[str, Any],
    prev_p: dict[str, Any],
) -> list[Kpi]:
    return [
        containment_kpi(cur, prev, "Contención del bot"),
        Kpi(
            "service_level",
            f"Nivel de servicio (≤ {cur_s.get('sl_threshold') or 60} s)",
            cur_s.get("service_level"),
            prev_s.get("service_level"),
            kind="rate",
        ),
        Kpi(
            "push_ctr",
            "CTR push (÷ enviados)",
            cur_p.get("ctr"),
            prev_p.get("ctr"),
            kind="rate",
            detail=f"÷ entregados: {Kpi('x', '', cur_p.get('ctr_delivered'), kind='rate').value_text}",
        ),
    ]


def update_executive(store: dict[str, Any] | None) -> tuple:
    """(headline cards, daily figure, donut, secondary cards, league rows) for the filters."""
    f = trusted_filters(store)
    p = comparable_previous(f)
    r = gather(
        cur=lambda: chat.totals(f), prev=lambda: chat.totals(p) if p else {},
        contacts=lambda: chat.unique_contacts(f), prev_contacts=lambda: chat.unique_contacts(p) if p else None,
        cur_s=lambda: chat.sessions(f), prev_s=lambda: chat.sessions(p) if p else {},
        cur_p=lambda: push.totals(f), prev_p=lambda: push.totals(p) if p else {},
        daily=lambda: chat.daily(f), league=lambda: push.league(f), fresh=lambda: fresh.freshness(f.tenant),
    )  # fmt: skip
    cur = {**r["cur"], "unique_contacts": r["contacts"]}
    prev = {**r["prev"], "unique_contacts": r["prev_contacts"]}
    return (
        kpi_row(headline_kpis(cur, prev, r["cur_s"], r["prev_s"])),
        mark_partial(messages_per_day(r["daily"]), r["fresh"].partial_days(f.start, f.end)),
        direction_donut(cur),
        kpi_row(secondary_kpis(cur, prev, r["cur_s"], r["prev_s"], r["cur_p"], r["prev_p"])),
        r["league"],
    )


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(
        Output("exec-kpis", "children"),
        Output("exec-daily", "figure"),
        Output("exec-donut", "figure"),
        Output("exec-kpis-2", "children"),
        Output("exec-league", "rowData"),
        Input("filters", "data"),
    )(update_executive)
