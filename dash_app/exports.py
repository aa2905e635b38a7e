"""`GET /export/<table>.<csv|xlsx>?<the page's filters>`: every table of the dashboards as a file.

CSV for Excel in Spanish: `;`-separated, UTF-8 with BOM, raw values (no "82 s" or "1,6 min": numbers
with a decimal comma, units in the header: "Espera mediana (s)", "CTR (%)"), times in the tenant's
zone. XLSX: the same columns with numeric cells. The tenant comes from the session (viewers: their
own, whatever the query asks), like every callback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import flask

from dash_app.filters import Filters, resolve_filters, tenant_timezone
from dash_app.security import Unauthorized, current_user
from lib.analysis import kpis as K
from lib.analysis.fmt import local_iso

Column = tuple[str, str, str]  # (header with unit, key, kind: text|int|num|pct|secs|ms|datetime|date)


@dataclass(frozen=True)
class Table:
    filename: str
    columns: list[Column]
    rows: Callable[[Filters, dict[str, str]], list[dict[str, Any]]]


def _kpi_rows(f: Filters, _args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries.chat import fetcher

    fetch = fetcher(f.tenant)
    cur, prev = K.window_kpis(fetch, f.kpi_window), K.window_kpis(fetch, f.kpi_window.previous())
    out = []
    for key, d in K.KPIS.items():
        scale = 100.0 if d.kind == "rate" else 1.0
        unit = {"rate": "%", "seconds": "s", "ratio": "mensajes por conversación"}.get(d.kind, "")

        def scaled(v: float | None, scale: float = scale) -> float | None:
            return None if v is None else v * scale

        out.append({"key": key, "label": d.label, "value": scaled(cur.get(key)), "unit": unit,
                    "previous": scaled(prev.get(key))})  # fmt: skip
    return out


def _agents(f: Filters, _args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries import chat

    return chat.agents(f)


def _league(f: Filters, _args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries import push

    return push.league(f)


def _drill(f: Filters, args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries import chat

    try:
        weekday, hour = int(args.get("weekday", "")), int(args.get("hour", ""))
    except ValueError:
        flask.abort(400)
    if not (1 <= weekday <= 7 and 0 <= hour <= 23):
        flask.abort(400)
    return chat.heatmap_rows(f, weekday, hour)


def _runs(f: Filters, _args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries import runs

    return runs.runs(f)


def _steps(f: Filters, args: dict[str, str]) -> list[dict[str, Any]]:
    from dash_app.queries import runs

    return runs.steps(f.tenant, args.get("run_id", ""))


PCT = "pct"
TABLES: dict[str, Table] = {
    "indicadores": Table("indicadores", [
        ("Indicador", "label", "text"), ("Clave", "key", "text"), ("Valor", "value", "num"),
        ("Unidad", "unit", "text"), ("Periodo anterior", "previous", "num"),
    ], _kpi_rows),
    "agentes": Table("agentes", [
        ("Agente", "agent", "text"), ("ID agente", "agent_id", "text"), ("Mensajes", "messages", "int"),
        ("Sesiones", "sessions", "int"), ("Contactos", "contacts", "int"),
        ("Espera mediana (s)", "median_wait_s", "secs"), ("Atención mediana (s)", "median_handle_s", "secs"),
        ("Transferencias", "transfers", "int"), ("Días activos", "active_days", "int"),
    ], _agents),
    "campanas": Table("campanas", [
        ("Posición", "rank", "int"), ("Campaña", "campaign_name", "text"), ("ID campaña", "campaign_id", "text"),
        ("Canal", "channel", "text"), ("Enviados", "sent", "int"), ("Entregados", "delivered", "int"),
        ("Abiertos", "opened", "int"), ("Clics", "clicks", "int"), ("Tasa de entrega (%)", "delivery_rate", PCT),
        ("CTR ÷ enviados (%)", "ctr", PCT), ("CTR ÷ entregados (%)", "ctr_delivered", PCT),
        ("Tasa de apertura (%)", "open_rate", PCT),
    ], _league),
    "mensajes_celda": Table("mensajes_celda", [
        ("Fecha y hora ({tz})", "message_ts", "text"), ("Canal", "channel", "text"),
        ("Contacto", "contact_name", "text"), ("ID contacto", "contact_id", "text"),
        ("Conversación", "conversation_key", "text"), ("Intent", "intent", "text"), ("Mensaje", "message_body", "text"),
    ], _drill),
    "ejecuciones": Table("ejecuciones", [
        ("Creada ({tz})", "created_at", "datetime"), ("Run", "run_id", "text"), ("Modo", "mode", "text"),
        ("Estado", "status", "text"), ("Duración (s)", "duration_ms", "ms"), ("Pasos OK", "steps_ok", "int"),
        ("Pasos fallidos", "steps_failed", "int"), ("Filas", "rows_out", "int"), ("Error", "error", "text"),
    ], _runs),
    "pasos": Table("pasos", [
        ("#", "seq", "int"), ("Paso", "step", "text"), ("Tipo", "kind", "text"), ("Estado", "status", "text"),
        ("Duración (s)", "duration_ms", "ms"), ("Filas entrada", "rows_in", "int"),
        ("Filas salida", "rows_out", "int"), ("Rechazos", "rejects", "int"), ("Error", "error_message", "text"),
    ], _steps),
}  # fmt: skip


def raw_value(value: Any, kind: str, tz: str) -> Any:
    """The value a cell carries: numbers as numbers (rates in %, durations in s), times local."""
    if value is None:
        return None
    if kind == "pct":
        return float(value) * 100
    if kind == "ms":
        return float(value) / 1000
    if kind in ("int", "num", "secs"):
        v = float(value)
        return int(v) if kind == "int" else v
    if kind == "datetime":
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return local_iso(value, tz)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.10f}".rstrip("0").rstrip(".")
        return text.replace(".", ",")
    return str(value)


def render(table: Table, rows: list[dict[str, Any]], tz: str, fmt: str) -> bytes:
    """The file bytes (CSV: `;`, BOM, decimal comma; XLSX: numeric cells)."""
    headers = [h.replace("{tz}", tz) for h, _, _ in table.columns]
    values = [[raw_value(r.get(k), kind, tz) for _, k, kind in table.columns] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows([_csv_cell(v) for v in row] for row in values)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = table.filename[:31]
    ws.append(headers)
    for row in values:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


MIMES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_view(name: str, fmt: str) -> flask.Response:
    user = current_user()
    if user is None:
        flask.abort(401)
    table = TABLES.get(name)
    if table is None or fmt not in MIMES:
        flask.abort(404)
    args = {k: v for k, v in flask.request.args.items()}
    try:
        f = resolve_filters(args, user)  # the tenant comes from the session's rights
    except Unauthorized:
        flask.abort(403)
    tz = tenant_timezone(f.tenant)
    data = render(table, table.rows(f, args), tz, fmt)
    filename = f"{table.filename}_{f.tenant}_{f.start.isoformat()}_{f.end.isoformat()}.{fmt}"
    resp = flask.make_response(data)
    resp.headers["Content-Type"] = MIMES[fmt]
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def href(name: str, f: Filters, fmt: str, **extra: object) -> str:
    """The export link of a table for the page's filters."""
    from urllib.parse import urlencode

    query = f.to_query()
    if extra:
        query += "&" + urlencode({k: v for k, v in extra.items() if v is not None})
    return f"/export/{name}.{fmt}{query}"


def init_exports(server: flask.Flask) -> None:
    server.add_url_rule("/export/<name>.<fmt>", "export", export_view, methods=["GET"])
