"""Red (`/red`, admins only): the cooperatives side by side for the filter window.

Messages, conversations, wait median, service level, containment, fallback rate and push CTR per
tenant (lib.analysis.network over lib.analysis.kpis), the network total and median, the ranking,
and each cooperative's change against its previous period. Clicking a row opens that tenant's
dashboards.

Least privilege: there is no cross-tenant query. Each tenant's KPIs are read under that tenant's
RLS with the dashboards' login, exactly as an admin's tenant pick on any other page; the tenant
list is set here, server-side, only after the session's user is checked to be an admin. A viewer
gets a 404 for the page, no navigation link and a 403 from every callback of the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, dcc, html, no_update

from dash_app.components.cards import section
from dash_app.components.filters import denied_frame, filter_bar
from dash_app.components.tables import col, grid
from dash_app.filters import Filters, filters_from_store, resolve_filters
from dash_app.kpi import card
from dash_app.queries import chat
from dash_app.queries.parallel import gather
from dash_app.security import SessionUser, allowed_tenants, current_user, require_user
from lib.analysis import network

PATH = "/red"
NAME = "Red"
KIND = {"count": "int", "rate": "pct", "seconds": "secs", "ratio": "int"}


def require_admin() -> SessionUser:
    """The signed-in admin; anyone else is answered 403 (callbacks) before any query runs."""
    user = require_user()
    if not user.is_admin:
        flask.abort(403)
    return user


def block_viewers() -> flask.Response | None:
    """before_request: `/red` does not exist for a viewer (404), so not even its shell loads."""
    if flask.request.path.rstrip("/") == PATH:
        user = current_user()
        if user is not None and not user.is_admin:
            from dash_app.errors import error_page

            return error_page(404)
    return None


def columns() -> list[dict[str, Any]]:
    from lib.analysis.kpis import KPIS

    cols = [col("rank", "#", "int", maxWidth=70), col("tenant", "Cooperativa", minWidth=160)]
    for key in network.NETWORK_KPIS:
        d = KPIS[key]
        cols.append(col(key, d.label, KIND[d.kind]))
        cols.append(col(f"{key}_delta", "Δ", "text", maxWidth=110, sortable=False, filter=False))
    return cols


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    if not user.is_admin:
        return html.Div([html.H3("Página no encontrada")], className="page p-4")
    f = resolve_filters(query, user)
    bar = filter_bar(f, user)
    bar.children.children.children[0].style = {"display": "none"}  # one window for every tenant
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Red de cooperativas", className="page-title"),
                    html.Div(html.Span(f.label, id="window-label"), className="page-subtitle"),
                ],
                className="page-header",
            ),
            bar,
            dcc.Store(id="filters", data=f.to_store()),
            dcc.Location(id="red-open", refresh=True),
            section(
                "Cooperativas",
                dcc.Loading(grid("red-grid", columns(), height=520, csv_name="red.csv", row_id="tenant")),
                subtitle="Δ contra el periodo anterior de igual duración · clic en una fila para abrir "
                "sus tableros",
            ),
            html.Div(id="red-summary", className="mt-3"),
        ],
        className="page",
    )


def _delta(key: str, cur: dict[str, Any], prev: dict[str, Any]) -> str:
    return card(key, cur, prev).delta_text if prev else "sin comparación"


def network_rows(f: Filters, tenants: list[str]) -> dict[str, Any]:
    """lib.analysis.network for the tenants, with the previous period only where a tenant's data
    cover it (a partly loaded period would make its deltas meaningless)."""
    p = f.previous()
    result = network.network(tenants, chat.fetcher, f.kpi_window, p.kpi_window, run=lambda c: gather(**c))
    bounds = gather(**{t: (lambda t=t: chat.data_bounds(t)) for t in tenants})
    for r in result["rows"]:
        first = (bounds.get(r["tenant"]) or {}).get("first_date")
        if first is None or first > p.start:
            r["prev"] = {}
        for key in network.NETWORK_KPIS:
            r[f"{key}_delta"] = _delta(key, r, r["prev"])
    return result


def update_network(store: dict[str, Any] | None) -> tuple:
    """(grid rows, summary) for the window; admins only."""
    user = require_admin()
    f = filters_from_store(store, user)
    result = network_rows(f, allowed_tenants(user))
    rows = [{k: v for k, v in r.items() if k != "prev"} for r in result["rows"]]
    return rows, summary(result)


def summary(result: dict[str, Any]) -> dbc.Card:
    """Network total (Σ, rates Σnum ÷ Σden) and median cooperative, column by column."""
    from lib.analysis.kpis import KPIS, format_value

    head = html.Tr([html.Th("")] + [html.Th(KPIS[k].label) for k in network.NETWORK_KPIS])
    body = [
        html.Tr(
            [html.Th(label)]
            + [
                html.Td(format_value(k, result[part].get(k)), id=f"red-{part}-{k}")
                for k in network.NETWORK_KPIS
            ]
        )
        for label, part in (("Total de la red", "total"), ("Mediana de cooperativas", "median"))
    ]
    note = "La espera de la red es la mediana de las medianas de las cooperativas."
    return section("Red", [html.Table([html.Thead(head), html.Tbody(body)], className="table table-sm"),
                           html.Div(note, className="text-muted small")])  # fmt: skip


def open_tenant(cell: dict[str, Any] | None, store: dict[str, Any] | None) -> str:
    """A clicked row → that tenant's executive dashboard with the same window. AG Grid's cellClicked
    carries no row data, only `rowId` (the grid's `getRowId`: the tenant id)."""
    user = require_admin()
    tenant = (cell or {}).get("rowId")
    if not tenant or tenant not in allowed_tenants(user):
        return no_update
    f = filters_from_store(store, user)
    q = {"tenant": tenant, "range": "custom", "from": f.start.isoformat(), "to": f.end.isoformat(),
         "channel": f.channel}  # fmt: skip
    return "/?" + urlencode(q)


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.server.before_request(block_viewers)
    app.callback(Output("red-grid", "rowData"), Output("red-summary", "children"), Input("filters", "data"))(
        update_network
    )
    app.callback(
        Output("red-open", "href"),
        Input("red-grid", "cellClicked"),
        State("filters", "data"),
        prevent_initial_call=True,
    )(open_tenant)
