"""Informes: the tenant's weekly reports (runner step `report_weekly`), with links to the HTML, the
PDF and the archived notebook (served by dash_app.report_files, tenant- and RUNS_DIR-checked)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from dash import Input, Output, html

from dash_app.components.cards import section
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.tables import col, grid
from dash_app.filters import resolve_filters
from dash_app.pages._common import trusted_filters
from dash_app.queries import runs as runs_q
from dash_app.security import current_user

PATH = "/informes"
NAME = "Informes"
REPORT_COLUMNS = [
    col("week", "Semana", maxWidth=130, sort="desc"),
    col("period", "Periodo", minWidth=200),
    col("created_at", "Generado", "datetime", minWidth=170),
    col("email_es", "Correo", minWidth=200),
    col("html", "HTML", cellRenderer="markdown", maxWidth=120),
    col("pdf", "PDF", cellRenderer="markdown", maxWidth=120),
    col("notebook", "Notebook", cellRenderer="markdown", maxWidth=140),
]
EMAIL_ES = {"sent": "enviado", "not_configured": "SMTP sin configurar", "no_recipients": "sin destinatarios",
            "failed": "falló el envío"}  # fmt: skip


def report_href(tenant: str, run_id: str, kind: str) -> str:
    return f"/reports/{quote(run_id, safe='')}/{kind}?{urlencode({'tenant': tenant})}"


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    body = [
        section(
            "Informes semanales",
            grid("reports-grid", REPORT_COLUMNS, height=420, no_rows="Todavía no hay informes"),
            subtitle="cada lunes el runner genera el de la semana anterior; genere otro desde Ejecuciones",
        )
    ]
    return page_frame("Informes", f, user, body, show_channel=False)


def report_rows(tenant: str) -> list[dict[str, Any]]:
    from lib.analysis.fmt import fmt_date
    from lib.report.weekly import week_window

    out = []
    for r in runs_q.reports(tenant):
        try:
            start, end = week_window(r.get("date_from") or r.get("week"), None)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            start = end = None
        arts = " ".join(str(a) for a in (r.get("artifacts") or []))
        emailed = r.get("emailed_to") or []
        email = EMAIL_ES.get(r.get("email") or "", r.get("email") or "—")
        if r.get("email") == "sent":
            email += f" a {len(emailed)} destinatario(s)"
        out.append({
            "run_id": r["run_id"], "week": r.get("week"), "created_at": r.get("created_at"),
            "period": f"{fmt_date(start)} – {fmt_date(end)}" if start else "—", "email_es": email,
            "html": f"[Abrir]({report_href(tenant, r['run_id'], 'html')})" if "informe.html" in arts else None,
            "pdf": f"[Descargar]({report_href(tenant, r['run_id'], 'pdf')})" if "informe.pdf" in arts else None,
            "notebook": f"[Ver]({report_href(tenant, r['run_id'], 'notebook')})" if r.get("notebook_html") else None,
        })  # fmt: skip
    return out


def update_reports(store: dict[str, Any] | None) -> list[dict[str, Any]]:
    f = trusted_filters(store)
    return report_rows(f.tenant)


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(Output("reports-grid", "rowData"), Input("filters", "data"))(update_reports)
