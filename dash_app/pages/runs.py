"""Runs: the pipeline ledger (runs and their steps: status, durations, rows, errors) with links to
each step's archived notebook (served by `dash_app.notebooks`, tenant- and RUNS_DIR-checked)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from dash_app.components.cards import section
from dash_app.components.exports import export_links
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.tables import STATUS, col, grid
from dash_app.components.theme import fmt_int, fmt_ms
from dash_app.filters import resolve_filters
from dash_app.pages._common import trusted_filters
from dash_app.queries import runs as runs_q
from dash_app.security import current_user

PATH = "/runs"
NAME = "Ejecuciones"
STATUS_COLORS = {  # readable on white: no "light" badge (white text on white)
    "success": "success",
    "failed": "danger",
    "running": "primary",
    "queued": "info",
    "pending": "secondary",
    "skipped": "warning",
}
ACTIVE = ("queued", "running")
REFRESH_MS = 5000
ERROR_NAMES_ES = {
    "StepFailed": "Paso fallido",
    "SecretLeak": "Secreto detectado: no se archivó",
    "InjectedFault": "Falla inyectada (prueba)",
    "TimeoutError": "Tiempo agotado",
    "CellTimeoutError": "Tiempo agotado en una celda",
    "DeadKernelError": "El kernel se detuvo",
    "ConfigError": "Error de configuración",
    "OperationalError": "Base de datos no disponible",
    "ValueError": "Valor no válido",
    "PapermillExecutionError": "Error al ejecutar el notebook",
    "BrokenProcessPool": "El proceso de trabajo se detuvo",
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
    col("error_es", "Error", minWidth=220),
]


def error_es(name: str | None, message: str | None = None) -> str:
    """A step's or run's error in Spanish (the technical message stays after the label)."""
    import re

    if not name and not message:
        return ""
    if name:
        label = ERROR_NAMES_ES.get(name, f"Error ({name})")
        return f"{label}: {message}" if message else label
    text = str(message)
    text = re.sub(r"runner interrupted: (\w+)", r"ejecución interrumpida (\1)", text)
    text = text.replace("a step did not succeed", "un paso no terminó bien")
    text = re.sub(r"\bstep (\w+) failed\b", r"falló el paso \1", text)
    return re.sub(
        r"(?:^|; )(\w+): (\w+): ",
        lambda m: (
            f"{'; ' if m.start() else ''}falló el paso {m.group(1)} "
            f"({ERROR_NAMES_ES.get(m.group(2), m.group(2))}): "
        ),
        text,
    )


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    body = [
        dcc.Interval(id="runs-refresh", interval=REFRESH_MS, disabled=True),
        report_launcher(f),
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
            subtitle="seleccione una fila para ver sus pasos; se actualiza sola mientras hay una ejecución en curso",
            tools=export_links("ejecuciones", f, link_id="runs-export"),
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


def steps_table(tenant: str, run: dict[str, Any], steps: list[dict[str, Any]], f=None) -> html.Div:  # noqa: ANN001
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
            label = ERROR_NAMES_ES.get(s.get("error_name") or "", s.get("error_name") or "Error")
            err = html.Span(f"{label}{cell}: {s.get('error_message') or ''}", className="text-danger small",
                            title=s.get("error_name") or "")  # fmt: skip
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
            export_links("pasos", f, link_id="steps-export", run_id=run["run_id"]) if f is not None else None,
        ],
        className="mb-2 steps-title",
    )
    return html.Div(
        [
            title,
            dbc.Table(
                [header, html.Tbody(body)], hover=True, size="sm", responsive=True, className="steps-table"
            ),
        ]
    )


def update_runs(store: dict[str, Any] | None, _n: int | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The runs of the window (errors in Spanish), and whether to keep refreshing (a run is active)."""
    f = trusted_filters(store)
    rows = [{**r, "error_es": error_es(None, r.get("error"))} for r in runs_q.runs(f)]
    return rows, not any(r.get("status") in ACTIVE for r in rows)


def report_launcher(f) -> dbc.Card:  # noqa: ANN001 - Filters
    """Generate a week's report now (a runner run in mode `report`, archived like any other)."""
    from dash_app.filters import tenant_timezone
    from lib.analysis.periods import local_today
    from lib.report.weekly import iso_week, week_window

    last = week_window(None, local_today(tenant_timezone(f.tenant)))[0]
    weeks = [last - timedelta(days=7 * i) for i in range(12)]
    options = [{"label": f"{iso_week(m)} ({m:%d/%m} – {m + timedelta(days=6):%d/%m/%Y})", "value": m.isoformat()}
               for m in weeks]  # fmt: skip
    return dbc.Card(
        dbc.CardBody(
            html.Div(
                [
                    html.Span("Informe semanal", className="filter-label me-2"),
                    dcc.Dropdown(
                        id="runs-report-week",
                        options=options,
                        value=options[0]["value"],
                        clearable=False,
                        searchable=False,
                        style={"minWidth": "260px"},
                    ),  # fmt: skip
                    dbc.Button("Generar informe", id="runs-report", size="sm", color="primary"),
                    html.Span(id="runs-report-status", className="small ms-2"),
                ],
                className="report-launcher",
            ),
            className="py-2",
        ),
        className="filter-card mb-3 no-print",
    )


def launch_report(n_clicks: int | None, week: str | None, store: dict[str, Any] | None) -> tuple[str, bool]:
    """Start the report run for the session's tenant; (message, keep refresh disabled?)."""
    if not n_clicks:
        return no_update, no_update
    f = trusted_filters(store)
    from lib.pipeline.launch import launch_run
    from lib.pipeline.lock import RunLocked

    try:
        run_id = launch_run(f.tenant, "report", date_from=week)
    except RunLocked:
        return "Ya hay una ejecución en curso para este cliente; intente cuando termine.", no_update
    except Exception as exc:  # noqa: BLE001 - shown in Spanish, logged by the server
        return f"No se pudo iniciar el informe ({type(exc).__name__}).", no_update
    return f"Informe en preparación (ejecución {run_id}); aparecerá en Informes al terminar.", False


def show_steps(selected: list[dict[str, Any]] | None, *args: Any) -> Any:
    """Steps of the selected run (looked up again for the session's tenant, never trusted from the row)."""
    store = args[-1] if args else None  # (n_intervals, store) from Dash; (store,) when called directly
    f = trusted_filters(store)
    if not selected:
        return html.Div("Seleccione una ejecución.", className="text-muted")
    run_id = str(selected[0].get("run_id") or "")
    run = runs_q.run(f.tenant, run_id)
    if not run:
        return html.Div("Ejecución no encontrada.", className="text-muted")
    return steps_table(f.tenant, run, runs_q.steps(f.tenant, run_id), f)


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(
        Output("runs-grid", "rowData"),
        Output("runs-refresh", "disabled"),
        Input("filters", "data"),
        Input("runs-refresh", "n_intervals"),
    )(update_runs)
    app.callback(
        Output("runs-report-status", "children"),
        Output("runs-refresh", "disabled", allow_duplicate=True),
        Input("runs-report", "n_clicks"),
        State("runs-report-week", "value"),
        State("filters", "data"),
        prevent_initial_call=True,
    )(launch_report)
    app.callback(
        Output("runs-steps", "children"),
        Input("runs-grid", "selectedRows"),
        Input("runs-refresh", "n_intervals"),
        State("filters", "data"),
        prevent_initial_call=True,
    )(show_steps)
