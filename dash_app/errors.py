"""Spanish error pages for the whole server (the sign-in form included, without touching its
handler): a database that is down at sign-in reads "No podemos conectar con la base de datos", not
"500 Internal Server Error". API and callback routes keep JSON answers."""

from __future__ import annotations

import logging
from html import escape

import flask
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Solicitud no válida", "Revise el enlace o los filtros e intente de nuevo."),
    401: ("Sesión requerida", "Ingrese de nuevo para continuar."),
    403: ("Sin permiso", "Su usuario no puede ver este contenido."),
    404: ("Página no encontrada", "El enlace no existe o ya no está disponible."),
    405: ("Método no permitido", "Esta dirección no acepta esa operación."),
    500: ("Algo salió mal", "Ocurrió un error inesperado. Intente de nuevo en unos minutos."),
    503: (
        "Servicio no disponible",
        "No podemos conectar con la base de datos. Intente de nuevo en unos minutos.",
    ),
}
PAGE = """<!doctype html><html lang="es-CO"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · inDigitall BI</title>
<style>body{{margin:0;background:#F5F7FA;color:#1A1A2E;font-family:Inter,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
display:flex;min-height:100vh;align-items:center;justify-content:center}}
.box{{background:#fff;border-radius:14px;box-shadow:0 6px 24px rgba(26,26,46,.08);padding:32px 36px;max-width:420px;margin:16px}}
h1{{font-size:20px;margin:0 0 8px}} p{{color:#4B4E6D;font-size:14px;line-height:1.5}} .code{{color:#A0A3BD;font-size:12px}}
a{{color:#1E88E5;font-weight:600;text-decoration:none}}</style></head>
<body><div class="box" id="error-page"><h1>{title}</h1><p>{text}</p><p><a href="/">Volver al inicio</a> ·
<a href="/login">Ingresar</a></p><div class="code">Código {code}</div></div></body></html>"""


def _is_database_error(exc: BaseException) -> bool:
    try:
        from sqlalchemy.exc import DBAPIError, OperationalError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, OperationalError | DBAPIError) or "psycopg2.OperationalError" in repr(type(exc))


def error_page(code: int) -> flask.Response:
    title, text = MESSAGES.get(code, MESSAGES[500])
    resp = flask.make_response(PAGE.format(title=escape(title), text=escape(text), code=code), code)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _wants_json() -> bool:
    path = flask.request.path
    return path.startswith(("/api/", "/_dash-", "/healthz", "/auth/"))


def handle(exc: BaseException) -> flask.Response | HTTPException:
    if isinstance(exc, HTTPException):
        if _wants_json() or exc.code is None or exc.code < 400:
            return exc
        return error_page(exc.code)
    code = 503 if _is_database_error(exc) else 500
    log.error("unhandled error on %s: %s", flask.request.path, type(exc).__name__, exc_info=exc)
    if _wants_json():
        return flask.make_response(flask.jsonify({"error": MESSAGES[code][0]}), code)
    return error_page(code)


def init_errors(server: flask.Flask) -> None:
    """Register the handler for every exception and HTTP error (Dash's own handlers stay first)."""
    server.register_error_handler(Exception, handle)
