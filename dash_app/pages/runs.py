"""Runs: the pipeline ledger (runs and their steps: status, durations, rows, errors) with links to
each step's archived notebook (served by `dash_app.notebooks`, tenant- and RUNS_DIR-checked)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from dash_app.components.cards import section
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.tables import STATUS, col, grid
from dash_app.components.theme import fmt_int, fmt_ms
from dash_app.filters import resolve_filters
from dash_app.pages._common import trusted_filters
from dash_app.queries import runs as runs_q
from dash_app.security import current_user

PATH = "/runs"
NAME = "Ejecuciones"
STATUS_COLORS = {
    "success": "success",
    "failed": "danger",
    "running": "primary",
    "queued": "secondary",
    "pending": "light",
    "skipped": "light",
}
STATUS_ES = {
    "success": "éxito",
    "failed": "falló",
    "running": "en curso",
    "queued": "en cola",
    "pending": "pendiente",
    "skipped": "omitido",
}
RUN_COLUMNS = [
    col("created_at", "Creada", "datetime", minWidth=170, sort="desc"),
    col("run_id", "Run", minWidth=220),
    col("mode", "Modo", maxWidth=130),
    col(
        "status",
        "Estado",
        maxWidth=120,
        valueFormatter=STATUS,
        cellClassRules={
            "status-failed": "params.value == 'failed'",
            "status-success": "params.value == 'success'",
            "status-running": "params.value == 'running' || params.value == 'queued'",
        },
    ),
    col("duration_ms", "Duración", "ms"),
    col("steps_ok", "Pasos OK", "int"),
    col("steps_failed", "Pasos fallidos", "int"),
    col("rows_out", "Filas", "int"),
    col("error", "Error", minWidth=220),
]


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    body = [
        section(
            "Ejecuciones del pipeline",
            grid(
                "runs-grid",
                RUN_COLUMNS,
                height=360,
                row_selection="single",
                csv_name="ejecuciones.csv",
                no_rows="Sin ejecuciones en este periodo",
            ),
            subtitle="seleccione una fila para ver sus pasos",
        ),
        html.Div(
            section(
                "Pasos", html.Div("Seleccione una ejecución.", id="runs-steps"), card_id="runs-steps-card"
            ),
            className="mt-3",
        ),
    ]
    return page_frame("Ejecuciones", f, user, body, show_channel=False)


def notebook_href(tenant: str, run_id: str, step: str) -> str:
    return f"/notebooks/{quote(run_id, safe='')}/{quote(step, safe='')}?{urlencode({'tenant': tenant})}"


def steps_table(tenant: str, run: dict[str, Any], steps: list[dict[str, Any]]) -> html.Div:
    """The steps of a run as a table with status badges, durations, rows, errors, notebook links."""
    if not steps:
        return html.Div("Esta ejecución no tiene pasos registrados.", className="text-muted")
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "#",
                    "Paso",
                    "Tipo",
                    "Estado",
                    "Duración",
                    "Filas entrada",
                    "Filas salida",
                    "Rechazos",
                    "Error",
                    "Notebook",
                )
            ]
        )
    )
    body = []
    for s in steps:
        err = None
        if s.get("error_name") or s.get("error_message"):
            cell = f" (celda {s['error_cell']})" if s.get("error_cell") is not None else ""
            err = html.Span(
                f"{s.get('error_name') or 'Error'}{cell}: {s.get('error_message') or ''}",
                className="text-danger small",
            )
        elif s.get("reason"):  # a skipped step says why (up to date, or a step it needs failed)
            err = html.Span(s["reason"], className="text-muted small step-reason")
        link = (
            html.A(
                "Abrir",
                href=notebook_href(tenant, run["run_id"], s["step"]),
                target="_blank",
                rel="noopener",
                className="notebook-link",
            )
            if s.get("html_path") or s.get("notebook_path")
            else html.Span("—", className="text-muted")
        )
        status = s.get("status") or ""
        body.append(
            html.Tr(
                [
                    html.Td(s.get("seq")),
                    html.Td(s.get("step")),
                    html.Td(s.get("kind") or ""),
                    html.Td(
                        dbc.Badge(STATUS_ES.get(status, status), color=STATUS_COLORS.get(status, "secondary"))
                    ),
                    html.Td(fmt_ms(s.get("duration_ms"))),
                    html.Td(fmt_int(s.get("rows_in"))),
                    html.Td(fmt_int(s.get("rows_out"))),
                    html.Td(fmt_int(s.get("rejects"))),
                    html.Td(err),
                    html.Td(link),
                ]
            )
        )
    title = html.Div(
        [
            html.Strong(run["run_id"]),
            html.Span(f" · {run.get('mode') or ''} · "),
            dbc.Badge(
                STATUS_ES.get(run.get("status"), run.get("status")),
                color=STATUS_COLORS.get(run.get("status"), "secondary"),
            ),
        ],
        className="mb-2",
    )
    return html.Div(
        [
            title,
            dbc.Table(
                [header, html.Tbody(body)], hover=True, size="sm", responsive=True, className="steps-table"
            ),
        ]
    )


def update_runs(store: dict[str, Any] | None) -> list[dict[str, Any]]:
    f = trusted_filters(store)
    return runs_q.runs(f)


def show_steps(selected: list[dict[str, Any]] | None, store: dict[str, Any] | None) -> Any:
    """Steps of the selected run (looked up again for the session's tenant, never trusted from the row)."""
    f = trusted_filters(store)
    if not selected:
        return html.Div("Seleccione una ejecución.", className="text-muted")
    run_id = str(selected[0].get("run_id") or "")
    run = runs_q.run(f.tenant, run_id)
    if not run:
        return html.Div("Ejecución no encontrada.", className="text-muted")
    return steps_table(f.tenant, run, runs_q.steps(f.tenant, run_id))


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(Output("runs-grid", "rowData"), Input("filters", "data"))(update_runs)
    app.callback(
        Output("runs-steps", "children"),
        Input("runs-grid", "selectedRows"),
        State("filters", "data"),
        prevent_initial_call=True,
    )(show_steps)
