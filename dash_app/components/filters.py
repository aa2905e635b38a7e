"""The filter bar every page shows (tenant for admins, date window, channel) and the page frame.

The URL query string is the source of truth: a page's layout is built from it (so a shared link
restores the controls), and `sync_url` writes control changes back into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component

from dash_app.components.exports import export_links
from dash_app.filters import CHANNEL_LABELS, CHANNELS, Filters, resolve_filters
from dash_app.security import SessionUser, allowed_tenants, require_user

RANGE_OPTIONS = [
    {"label": "7 días", "value": "7"},
    {"label": "30 días", "value": "30"},
    {"label": "90 días", "value": "90"},
    {"label": "Personalizado", "value": "custom"},
]
PAGES_LOCATION = "_pages_location"


def filter_bar(f: Filters, user: SessionUser, *, show_channel: bool = True) -> dbc.Card:
    """Controls initialised from the resolved filters (ids `f-tenant`, `f-range`, `f-dates`, `f-channel`)."""
    tenants = allowed_tenants(user)
    if f.tenant not in tenants:
        tenants = [f.tenant, *tenants]
    tenant_ctl = html.Div(
        [
            html.Label("Cliente", htmlFor="f-tenant", className="filter-label"),
            dcc.Dropdown(
                id="f-tenant",
                options=[{"label": t, "value": t} for t in tenants],
                value=f.tenant,
                clearable=False,
                searchable=False,
                disabled=not user.is_admin,
                className="filter-tenant",
            ),
        ],
        className="filter-item",
        style=None if user.is_admin else {"display": "none"},
    )
    range_ctl = html.Div(
        [
            html.Label("Periodo", className="filter-label"),
            dbc.RadioItems(
                id="f-range",
                options=RANGE_OPTIONS,
                value=f.preset,
                inline=True,
                className="btn-group filter-range",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-primary btn-sm",
                labelCheckedClassName="active",
            ),
        ],
        className="filter-item",
    )
    dates_ctl = html.Div(
        [
            html.Label("Desde – hasta", className="filter-label"),
            dcc.DatePickerRange(
                id="f-dates",
                start_date=f.start.isoformat(),
                end_date=f.end.isoformat(),
                display_format="DD/MM/YYYY",
                first_day_of_week=1,
                updatemode="bothdates",
                start_date_placeholder_text="Desde",
                end_date_placeholder_text="Hasta",
                minimum_nights=0,
                max_date_allowed=date(2100, 1, 1).isoformat(),
                className="filter-dates",
            ),
        ],
        className="filter-item",
    )
    today_ctl = html.Div(
        [
            html.Label("Hoy", htmlFor="f-today", className="filter-label"),
            dbc.Switch(
                id="f-today",
                label="Incluir hoy (parcial)",
                value=f.include_today,
                className="filter-today",
            ),
        ],
        className="filter-item",
    )
    channel_ctl = html.Div(
        [
            html.Label("Canal", className="filter-label"),
            dbc.RadioItems(
                id="f-channel",
                options=[{"label": CHANNEL_LABELS[c], "value": c} for c in CHANNELS],
                value=f.channel,
                inline=True,
                className="btn-group filter-channel",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary btn-sm",
                labelCheckedClassName="active",
            ),
        ],
        className="filter-item",
        style=None if show_channel else {"display": "none"},
    )
    return dbc.Card(
        dbc.CardBody(
            html.Div([tenant_ctl, range_ctl, dates_ctl, today_ctl, channel_ctl], className="filter-bar"),
            className="py-2",
        ),
        className="filter-card mb-3",
    )


def page_frame(
    title: str,
    f: Filters,
    user: SessionUser,
    body: Sequence[Component],
    *,
    subtitle: str | None = None,
    show_channel: bool = True,
    push: bool = False,
) -> html.Div:
    """Title, "datos al …", filter bar, the trusted filter store (`filters`) and the page body."""
    return html.Div(
        [
            html.Div(
                [
                    html.H2(title, className="page-title"),
                    html.Div(
                        [html.Span(f.label, id="window-label"), html.Span(subtitle or "", className="ms-2")],
                        className="page-subtitle",
                    ),
                    html.Div(
                        [
                            html.Span("Indicadores:", className="export-label"),
                            export_links("indicadores", f, link_id="kpis-export"),
                            html.Button(
                                "Imprimir / PDF",
                                id="print-page",
                                className="export-link print-button",
                                **{"data-print": "1"},
                            ),
                        ],
                        className="page-tools no-print",
                    ),  # fmt: skip
                ],
                className="page-header",
            ),
            freshness_line(f, push=push),
            filter_bar(f, user, show_channel=show_channel),
            dcc.Store(id="filters", data=f.to_store()),
            *body,
        ],
        className="page",
    )


def freshness_line(f: Filters, *, push: bool = False) -> html.Div:
    """'Datos al <fecha hora local> · última actualización …' and the partial days of the window."""
    from dash_app.queries.fresh import freshness

    try:
        fr = freshness(f.tenant, push=push)
    except Exception:  # database down: say so instead of breaking the page
        return html.Div("No se pudo consultar la frescura de los datos.", id="data-freshness",
                        className="data-freshness text-danger")  # fmt: skip
    partial = fr.partial_days(f.start, f.end)
    note = ""
    if partial:
        note = " · días parciales en el periodo: " + ", ".join(d.strftime("%d/%m") for d in partial[:5])
        note += "…" if len(partial) > 5 else ""
    return html.Div(
        [html.Span(fr.label(), id="data-freshness-text"), html.Span(f" · {fr.complete_label()}{note}")],
        id="data-freshness",
        className="data-freshness",
    )


def denied_frame() -> html.Div:
    return html.Div(
        [html.H3("Sesión expirada"), html.A("Ingresar de nuevo", href="/login")], className="page p-4"
    )


def sync_url(
    tenant: str | None,
    preset: str | None,
    start: str | None,
    end: str | None,
    channel: str | None,
    include_today: bool | None,
    current_search: str | None,
) -> str:
    """Control change → the URL query (custom range when the dates were edited)."""
    user = require_user()
    if _triggered_id() == "f-dates" or preset == "custom":
        query = {"tenant": tenant, "range": "custom", "from": start, "to": end, "channel": channel}
    else:
        query = {"tenant": tenant, "range": preset, "channel": channel, "hoy": "1" if include_today else ""}
    search = resolve_filters(query, user).to_query()
    return no_update if search == (current_search or "") else search


def _triggered_id() -> str | None:
    """The id of the input that fired the running callback (None outside a callback)."""
    try:
        return ctx.triggered_id
    except Exception:  # MissingCallbackContextException when called as a plain function
        return None


def register_callbacks(app) -> None:  # dash.Dash
    """The URL sync shared by every page."""
    app.callback(
        Output(PAGES_LOCATION, "search"),
        Input("f-tenant", "value"),
        Input("f-range", "value"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        Input("f-channel", "value"),
        Input("f-today", "value"),
        State(PAGES_LOCATION, "search"),
        prevent_initial_call=True,
    )(sync_url)
