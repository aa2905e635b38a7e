"""Operations: wait / first response / handle time, service level, abandonment, the weekday × hour
heatmap with drill-down to its messages, hourly and weekday bars, intents and the agent table."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from dash_app.components.cards import graph_card, kpi_placeholder, section
from dash_app.components.exports import export_links
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.kpi_card import kpi_row
from dash_app.components.tables import col, grid
from dash_app.components.theme import WEEKDAYS_ES, fmt_int
from dash_app.figures import hourly_bars, intents_bars, peak, volume_heatmap, wait_buckets, weekday_bars
from dash_app.filters import resolve_filters
from dash_app.kpi import WAIT_TARGET_S, Kpi
from dash_app.pages._common import comparable_previous, trusted_filters
from dash_app.pages.executive import _p90_detail
from dash_app.queries import chat
from dash_app.queries.parallel import gather
from dash_app.security import current_user

PATH = "/operations"
NAME = "Operaciones"

AGENT_COLUMNS = [
    col("agent", "Agente", minWidth=200, pinned="left"),
    col("messages", "Mensajes", "int"),
    col("sessions", "Sesiones", "int", sort="desc"),
    col("contacts", "Contactos", "int"),
    col("median_wait_s", "Espera mediana", "secs"),
    col("median_handle_s", "Atención mediana", "secs"),
    col("transfers", "Transferencias", "int"),
    col("active_days", "Días activos", "int"),
]
DRILL_COLUMNS = [
    col("message_ts", "Fecha y hora", "datetime", minWidth=170),
    col("channel", "Canal", maxWidth=110),
    col("contact_name", "Contacto"),
    col("contact_id", "ID contacto"),
    col("conversation_key", "Conversación", minWidth=180),
    col("intent", "Intent"),
    col("message_body", "Mensaje", minWidth=260),
]


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    export = export_links("agentes", f, link_id="ops-agents-export")
    body = [
        kpi_placeholder("ops-kpis"),
        kpi_placeholder("ops-kpis-2"),
        dbc.Row(
            [
                dbc.Col(
                    graph_card(
                        "Volumen entrante por día y hora",
                        "ops-heatmap",
                        subtitle="clic en una celda para ver sus mensajes",
                        height=330,
                    ),
                    lg=8,
                ),
                dbc.Col(
                    graph_card(
                        "Distribución de la espera",
                        "ops-wait-buckets",
                        height=260,
                        subtitle="sesiones asignadas",
                    ),
                    lg=4,
                ),
            ],
            className="g-3 mb-3",
        ),
        section(
            "Mensajes de la celda seleccionada",
            [
                html.Div(
                    "Seleccione una celda del mapa de calor.", id="ops-drill-title", className="drill-title"
                ),
                grid(
                    "ops-drill-grid",
                    DRILL_COLUMNS,
                    height=320,
                    csv_name="mensajes_celda.csv",
                    no_rows="Seleccione una celda del mapa de calor",
                ),
            ],
            card_id="ops-drill-card",
            tools=html.Div(
                export_links("mensajes_celda", f, link_id="ops-drill-export", weekday=1, hour=0),
                id="ops-drill-export-holder",
                style={"display": "none"},
            ),  # fmt: skip
        ),
        dbc.Row(
            [
                dbc.Col(graph_card("Por hora del día", "ops-hourly", height=280), lg=6),
                dbc.Col(graph_card("Por día de la semana", "ops-weekday", height=280), lg=6),
            ],
            className="g-3 my-3",
        ),
        dbc.Row(
            dbc.Col(
                graph_card(
                    "Intents principales",
                    "ops-intents",
                    height=360,
                    subtitle="top 10 por primer intent con sentido",
                )
            ),
            className="g-3 mb-3",
        ),
        section(
            "Agentes",
            grid("ops-agents-grid", AGENT_COLUMNS, height=420, csv_name="agentes.csv"),
            subtitle="ordenable y filtrable; exporta lo filtrado",
            tools=export,
        ),
    ]
    return page_frame("Operaciones", f, user, body)


def operations_kpis(cur: dict[str, Any], prev: dict[str, Any]) -> list[Kpi]:
    return [
        Kpi(
            "wait",
            "Espera (mediana)",
            cur.get("wait_p50"),
            prev.get("wait_p50"),
            kind="seconds",
            up_is_good=False,
            target=WAIT_TARGET_S,
            target_op="<",
            detail=_p90_detail(cur.get("wait_p90"), cur.get("wait_avg")),
        ),
        Kpi(
            "first_response",
            "Primera respuesta humana",
            cur.get("first_response_p50"),
            prev.get("first_response_p50"),
            kind="seconds",
            up_is_good=False,
            detail=_p90_detail(cur.get("first_response_p90"), cur.get("first_response_avg")),
        ),
        Kpi(
            "handle",
            "Tiempo de atención (AHT)",
            cur.get("handle_p50"),
            prev.get("handle_p50"),
            kind="seconds",
            up_is_good=None,
            detail=_p90_detail(cur.get("handle_p90"), cur.get("handle_avg")),
        ),
        Kpi(
            "service_level",
            f"Nivel de servicio (≤ {cur.get('sl_threshold') or 60} s)",
            cur.get("service_level"),
            prev.get("service_level"),
            kind="rate",
        ),
        Kpi(
            "abandonment",
            "Abandono",
            cur.get("abandonment"),
            prev.get("abandonment"),
            kind="rate",
            up_is_good=False,
            detail=f"transferencias: {_pct(cur.get('transfers'))}",
        ),
    ]


def quality_kpis(
    cur: dict[str, Any],
    prev: dict[str, Any],
    cur_s: dict[str, Any],
    prev_s: dict[str, Any],
    repeat: float | None,
    prev_repeat: float | None,
) -> list[Kpi]:
    """Transfers, messages per conversation, outbound delivery / read, repeat contact ≤ 24 h."""
    split = " · ".join(
        f"{label} {Kpi('x', '', cur.get(f'{key}_per_conversation'), kind='ratio').value_text}"
        for label, key in (("entrantes", "inbound"), ("bot", "bot"), ("agente", "agent"))
    )
    return [
        Kpi(
            "transfers",
            "Transferencias",
            cur_s.get("transfers"),
            prev_s.get("transfers"),
            kind="rate",
            up_is_good=False,
            help="sesiones cerradas con AGENT_TRANSFER ÷ sesiones",
        ),
        Kpi(
            "messages_per_conversation",
            "Mensajes por conversación",
            cur.get("messages_per_conversation"),
            prev.get("messages_per_conversation"),
            kind="ratio",
            up_is_good=None,
            detail=split,
        ),
        Kpi(
            "outbound_delivery",
            "Entrega saliente",
            cur.get("outbound_delivery"),
            prev.get("outbound_delivery"),
            kind="rate",
            help="entregados ÷ enviados (estado del mensaje)",
        ),
        Kpi(
            "outbound_read",
            "Lectura saliente",
            cur.get("outbound_read"),
            prev.get("outbound_read"),
            kind="rate",
            help="leídos ÷ entregados",
        ),
        Kpi(
            "repeat_contact",
            "Recontacto ≤ 24 h",
            repeat,
            prev_repeat,
            kind="rate",
            up_is_good=False,
            help="contactos que vuelven dentro de 24 h tras cerrar una conversación",
        ),
    ]


def _pct(v: Any) -> str:
    return Kpi("x", "", v, kind="rate").value_text


def update_operations(store: dict[str, Any] | None) -> tuple:
    """(time cards, quality cards, heatmap, wait buckets, hourly, weekday, intents, agent rows)."""
    f = trusted_filters(store)
    p = comparable_previous(f)
    r = gather(
        cur=lambda: chat.sessions(f), prev=lambda: chat.sessions(p) if p else {},
        totals=lambda: chat.totals(f), prev_totals=lambda: chat.totals(p) if p else {},
        repeat=lambda: chat.repeat_contact(f), prev_repeat=lambda: chat.repeat_contact(p) if p else None,
        heat=lambda: chat.heatmap(f),
        intents=lambda: chat.intents(f, limit=10), agents=lambda: chat.agents(f),
    )  # fmt: skip
    cur, prev, heat = r["cur"], r["prev"], r["heat"]
    quality = quality_kpis(r["totals"], r["prev_totals"], cur, prev, r["repeat"], r["prev_repeat"])
    heat_fig = volume_heatmap(heat)
    if peak(heat) is not None:
        heat_fig.update_layout(
            title={"text": f"Hora pico: {peak_text(heat)}", "font": {"size": 13}, "x": 0.01}
        )
    return (
        kpi_row(operations_kpis(cur, prev)),
        kpi_row(quality),
        heat_fig,
        wait_buckets(chat.wait_buckets(cur)),
        hourly_bars(heat),
        weekday_bars(heat),
        intents_bars(r["intents"], title="Conversaciones"),
        r["agents"],
    )


def drill_down(click_data: dict[str, Any] | None, store: dict[str, Any] | None) -> tuple:
    """The inbound messages behind the clicked heatmap cell (weekday × hour) in the window, and the
    cell's export links."""
    if not click_data or not click_data.get("points"):
        return no_update, no_update, no_update, no_update
    f = trusted_filters(store)
    point = click_data["points"][0]
    custom = point.get("customdata")
    if isinstance(custom, list | tuple) and len(custom) == 2:
        weekday_num, hour = int(custom[0]), int(custom[1])
    else:
        weekday_num, hour = WEEKDAYS_ES.index(point["y"]) + 1, int(point["x"])
    if not (1 <= weekday_num <= 7 and 0 <= hour <= 23):
        return no_update, no_update, no_update, no_update
    rows = chat.heatmap_rows(f, weekday_num, hour)
    shown = (
        f" (se muestran los {chat.DRILL_ROW_LIMIT} más recientes)"
        if len(rows) >= chat.DRILL_ROW_LIMIT
        else ""
    )
    title = (
        f"{WEEKDAYS_ES[weekday_num - 1]} {hour:02d}:00–{hour:02d}:59 · {fmt_int(len(rows))} "
        f"mensajes entrantes{shown} · {f.label}"
    )
    return title, rows, export_links("mensajes_celda", f, link_id="ops-drill-export", weekday=weekday_num,
                                     hour=hour), {}  # fmt: skip


def peak_text(heat: list[dict[str, Any]]) -> str:
    p = peak(heat)
    return "—" if p is None else f"{WEEKDAYS_ES[p[0] - 1]} {p[1]:02d}:00"


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(
        Output("ops-kpis", "children"),
        Output("ops-kpis-2", "children"),
        Output("ops-heatmap", "figure"),
        Output("ops-wait-buckets", "figure"),
        Output("ops-hourly", "figure"),
        Output("ops-weekday", "figure"),
        Output("ops-intents", "figure"),
        Output("ops-agents-grid", "rowData"),
        Input("filters", "data"),
    )(update_operations)
    app.callback(
        Output("ops-drill-title", "children"),
        Output("ops-drill-grid", "rowData"),
        Output("ops-drill-export-holder", "children"),
        Output("ops-drill-export-holder", "style"),
        Input("ops-heatmap", "clickData"),
        State("filters", "data"),
        prevent_initial_call=True,
    )(drill_down)
