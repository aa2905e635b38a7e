"""A KPI card: value, delta against the previous period, target chip, colour by direction."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dash_app.kpi import Kpi


def kpi_card(kpi: Kpi) -> dbc.Card:
    """The card for one KPI (ids `kpi-<key>-value` etc. for tests)."""
    trend = kpi.trend_good
    delta_class = "kpi-delta " + ("good" if trend is True else "bad" if trend is False else "flat")
    meets = kpi.meets_target
    chips = []
    if kpi.target_text:
        chips.append(
            html.Span(
                kpi.target_text,
                className="kpi-target " + ("good" if meets else "bad" if meets is False else "flat"),
                id=f"kpi-{kpi.key}-target",
            )
        )
    body = [
        html.Div(kpi.label, className="kpi-label", title=kpi.help or ""),
        html.Div(kpi.value_text, className="kpi-value", id=f"kpi-{kpi.key}-value"),
        html.Div(
            [
                html.Span(kpi.delta_text, className=delta_class, id=f"kpi-{kpi.key}-delta"),
                html.Span(" vs. periodo anterior", className="kpi-delta-note"),
            ]
        ),
    ]
    if kpi.detail:
        body.append(html.Div(kpi.detail, className="kpi-detail"))
    if chips:
        body.append(html.Div(chips, className="kpi-chips"))
    return dbc.Card(dbc.CardBody(body), className="kpi-card h-100", id=f"kpi-{kpi.key}")


def kpi_row(kpis: list[Kpi]) -> dbc.Row:
    """Cards in one responsive row."""
    return dbc.Row([dbc.Col(kpi_card(k), xs=12, sm=6, lg=True) for k in kpis], className="g-3 mb-3")
