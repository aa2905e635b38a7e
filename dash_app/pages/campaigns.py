"""Campaigns & push: delivery, CTR and open rate by platform and day, best send time (heatmap),
the campaign league and the sent → delivered → opened → clicked funnel."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dash_app.components.cards import graph_card, kpi_placeholder, section
from dash_app.components.exports import export_links
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.kpi_card import kpi_row
from dash_app.components.tables import col, grid
from dash_app.components.theme import PLATFORM_LABELS
from dash_app.figures import (
    funnel,
    mark_partial,
    platform_rates,
    push_daily_lines,
    push_heatmap,
    push_sent_bars,
)
from dash_app.filters import resolve_filters
from dash_app.kpi import Kpi
from dash_app.pages._common import comparable_previous, trusted_filters
from dash_app.pages.executive import LEAGUE_COLUMNS
from dash_app.queries import fresh, push
from dash_app.queries.parallel import gather
from dash_app.security import current_user

PATH = "/campaigns"
NAME = "Campañas y push"
ALL = "__all__"
FUNNEL_COLUMNS = (
    LEAGUE_COLUMNS[:6]
    + [col("opened", "Abiertos", "int")]
    + LEAGUE_COLUMNS[6:]
    + [col("open_rate", "Apertura", "pct"), col("ctr_delivered", "CTR (÷ entregados)", "pct")]
)


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    selector = dcc.Dropdown(
        id="push-funnel-select",
        options=[{"label": "Todas las plataformas", "value": ALL}],
        value=ALL,
        clearable=False,
        style={"minWidth": "240px"},
    )
    body = [
        kpi_placeholder("push-kpis"),
        dbc.Row(
            [
                dbc.Col(
                    graph_card("Enviados por día", "push-sent", subtitle="por plataforma", height=300), lg=6
                ),
                dbc.Col(
                    graph_card(
                        "CTR por día",
                        "push-ctr-daily",
                        subtitle="clics ÷ enviados, por plataforma",
                        height=300,
                    ),
                    lg=6,
                ),
            ],
            className="g-3 mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(graph_card("Tasas por plataforma", "push-platforms", height=300), lg=5),
                dbc.Col(
                    graph_card(
                        "Mejor hora de envío",
                        "push-heatmap",
                        height=330,
                        subtitle="CTR por día × hora; celdas sin datos ocultas",
                    ),
                    lg=7,
                ),
            ],
            className="g-3 mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(
                    section(
                        "Liga de campañas",
                        grid("push-league", FUNNEL_COLUMNS, height=380, csv_name="campanas.csv"),
                        subtitle="≥ 100 enviados, por CTR",
                        tools=export_links("campanas", f, link_id="push-league-export"),
                    ),
                    lg=7,
                ),
                dbc.Col(
                    section(
                        "Embudo",
                        dcc.Loading(
                            dcc.Graph(
                                id="push-funnel", config={"displaylogo": False}, style={"height": "320px"}
                            )
                        ),
                        tools=selector,
                    ),
                    lg=5,
                ),
            ],
            className="g-3 mb-3",
        ),
    ]
    return page_frame(
        "Campañas y push",
        f,
        user,
        body,
        show_channel=False,
        push=True,
        subtitle="(el canal de chat no aplica a push)",
    )


def push_kpis(cur: dict[str, Any], prev: dict[str, Any]) -> list[Kpi]:
    return [
        Kpi("push_sent", "Push enviados", cur.get("sent"), prev.get("sent")),
        Kpi(
            "push_delivery",
            "Tasa de entrega",
            cur.get("delivery_rate"),
            prev.get("delivery_rate"),
            kind="rate",
        ),
        Kpi(
            "push_ctr",
            "CTR (÷ enviados)",
            cur.get("ctr"),
            prev.get("ctr"),
            kind="rate",
            detail=f"÷ entregados: {Kpi('x', '', cur.get('ctr_delivered'), kind='rate').value_text}",
        ),
        Kpi(
            "push_open",
            "Tasa de apertura",
            cur.get("open_rate"),
            prev.get("open_rate"),
            kind="rate",
            help="abiertos ÷ entregados",
        ),
    ]


def update_push(store: dict[str, Any] | None) -> tuple:
    """(cards, sent per day, CTR per day, platform rates, heatmap, league rows, funnel options)."""
    f = trusted_filters(store)
    p = comparable_previous(f)
    r = gather(daily=lambda: push.daily(f), league=lambda: push.league(f), cur=lambda: push.totals(f),
               prev=lambda: push.totals(p) if p else {}, platforms=lambda: push.by_platform(f),
               heat=lambda: push.heatmap(f), fresh=lambda: fresh.freshness(f.tenant, push=True))  # fmt: skip
    daily, league, platforms = r["daily"], r["league"], r["platforms"]
    options = [{"label": "Todas las plataformas", "value": ALL}]
    options += [
        {"label": f"Plataforma: {PLATFORM_LABELS.get(x['platform'], x['platform'])}",
         "value": f"platform:{x['platform']}"}
        for x in platforms
    ]  # fmt: skip
    options += [
        {
            "label": f"Campaña: {x['campaign_name'] or x['campaign_id']}",
            "value": f"campaign:{x['campaign_id']}",
        }
        for x in league[:50]
    ]
    return (
        kpi_row(push_kpis(r["cur"], r["prev"])),
        mark_partial(push_sent_bars(daily), r["fresh"].partial_days(f.start, f.end)),
        mark_partial(push_daily_lines(daily, "ctr"), r["fresh"].partial_days(f.start, f.end)),
        platform_rates(platforms),
        push_heatmap(r["heat"]),
        league,
        options,
    )


def update_funnel(selection: str | None, store: dict[str, Any] | None):  # noqa: ANN201 - go.Figure
    """The funnel for all platforms, one platform, or one campaign."""
    f = trusted_filters(store)
    selection = selection or ALL
    if selection.startswith("platform:"):
        rows = [r for r in push.by_platform(f) if r["platform"] == selection.split(":", 1)[1]]
    elif selection.startswith("campaign:"):
        rows = [r for r in push.campaigns(f) if str(r["campaign_id"]) == selection.split(":", 1)[1]]
    else:
        rows = [push.totals(f)]
    row = rows[0] if rows else {}
    return funnel(
        int(row.get("sent") or 0),
        int(row.get("delivered") or 0),
        int(row.get("opened") or 0),
        int(row.get("clicks") or 0),
    )


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(
        Output("push-kpis", "children"),
        Output("push-sent", "figure"),
        Output("push-ctr-daily", "figure"),
        Output("push-platforms", "figure"),
        Output("push-heatmap", "figure"),
        Output("push-league", "rowData"),
        Output("push-funnel-select", "options"),
        Input("filters", "data"),
    )(update_push)
    app.callback(
        Output("push-funnel", "figure"),
        Input("push-funnel-select", "value"),
        Input("filters", "data"),
    )(update_funnel)
