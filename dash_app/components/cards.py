"""Chart and section cards with consistent spacing."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dash_app.components.empty import empty_figure

# Spanish locale (assets/05_plotly_locale_es.js); nothing that uploads a chart to Plotly's cloud.
GRAPH_CONFIG = {
    "displaylogo": False,
    "locale": "es",
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud", "editInChartStudio"],
}


def section(
    title: str,
    children: Any,
    *,
    subtitle: str | None = None,
    card_id: str | None = None,
    tools: Component | None = None,
) -> dbc.Card:
    header = [
        html.Div(
            [
                html.H5(title, className="card-title mb-0"),
                html.Div(subtitle, className="card-subtitle") if subtitle else None,
            ]
        ),
        tools,
    ]
    kwargs = {"id": card_id} if card_id else {}
    return dbc.Card(
        [
            html.Div([h for h in header if h is not None], className="section-header"),
            dbc.CardBody(children, className="pt-1"),
        ],
        className="section-card h-100",
        **kwargs,
    )


def graph_card(
    title: str,
    graph_id: str,
    *,
    subtitle: str | None = None,
    height: int = 320,
    tools: Component | None = None,
) -> dbc.Card:
    """A card holding a `dcc.Graph` (filled by a callback) under a loading spinner."""
    graph = dcc.Graph(
        id=graph_id,
        figure=empty_figure("Cargando…", height=height),
        config=GRAPH_CONFIG,
        style={"height": f"{height}px"},
    )
    return section(
        title, dcc.Loading(graph, type="dot", color="#1E88E5", delay_show=300), subtitle=subtitle, tools=tools
    )


def kpi_placeholder(div_id: str) -> html.Div:
    """Where a callback puts a row of KPI cards."""
    return dcc.Loading(
        html.Div(id=div_id, className="kpi-row-holder"), type="dot", color="#1E88E5", delay_show=300
    )
