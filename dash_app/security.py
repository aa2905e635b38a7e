"""Sign-in for the dashboards: Flask session login, the request guard, and the tenant rule.

Every data request is decided server-side from the session: an admin may pick any configured tenant,
a viewer always gets their own, whatever the URL or a hand-made callback POST asks for.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from datetime import timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import flask

from lib.auth import User, verify_user

SessionUser = User
log = logging.getLogger(__name__)

# Reachable without a dashboard session (the API has its own bearer token).
PUBLIC_PREFIXES = ("/login", "/logout", "/healthz", "/api/", "/favicon.ico")


class Unauthorized(PermissionError):
    """No signed-in user (or not allowed)."""


def known_tenants() -> list[str]:
    """Configured tenant ids (tenants.yml or TENANT_ID), in configuration order."""
    from lib.config import load_tenants

    return [t.id for t in load_tenants()]


def default_tenant() -> str:
    from lib.config import get_settings

    tenants = known_tenants()
    configured = get_settings().tenant_id
    return configured if configured in tenants or not tenants else tenants[0]


def allowed_tenants(user: User) -> list[str]:
    """The tenants this user may see."""
    if user.is_admin:
        return known_tenants()
    return [user.tenant_id] if user.tenant_id else []


def resolve_tenant(user: User, requested: str | None) -> str:
    """The tenant to query: a viewer's own (the request is ignored); an admin's pick if configured."""
    if not user.is_admin:
        if not user.tenant_id:
            raise Unauthorized("viewer without a tenant")
        return user.tenant_id
    if requested and requested in known_tenants():
        return requested
    return default_tenant()


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    data = flask.session.get("user") if flask.has_request_context() else None
    if not isinstance(data, dict) or data.get("role") not in ("admin", "viewer"):
        return None
    return User(str(data["username"]), data["role"], data.get("tenant_id"))


def require_user() -> User:
    """The signed-in user; raises Unauthorized when there is none."""
    user = current_user()
    if user is None:
        raise Unauthorized("sign-in required")
    return user


def secret_key(data_dir: Path | None = None) -> str:
    """DASH_SECRET_KEY, else a random key generated once and kept in `.data/dash_secret_key` (0600)."""
    configured = os.environ.get("DASH_SECRET_KEY")
    if configured:
        return configured
    if data_dir is None:
        from lib.config import get_settings

        data_dir = get_settings().data_dir
    path = Path(data_dir) / "dash_secret_key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # exclusive create: concurrent workers agree on the first key written
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                value = path.read_text(encoding="utf-8").strip()
                if len(value) >= 32:
                    return value
                time.sleep(0.02)
            raise OSError("unreadable session key file") from None
        value = secrets.token_hex(32)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value)
        return value
    except OSError:
        log.warning("could not persist the session key under %s; sessions end on restart", data_dir)
        return secrets.token_hex(32)


def _safe_next(target: str | None) -> str:
    """Only local paths (no scheme, no host, no `//`) are valid redirect targets."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


_LOGIN_HTML = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ingresar · inDigitall BI</title>
<style>
 body{{margin:0;background:#F5F7FA;color:#1A1A2E;font-family:Inter,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
   display:flex;min-height:100vh;align-items:center;justify-content:center}}
 .box{{background:#fff;border-radius:14px;box-shadow:0 6px 24px rgba(26,26,46,.08);padding:36px 40px;width:340px}}
 h1{{font-size:20px;margin:0 0 4px}} p.sub{{color:#A0A3BD;margin:0 0 24px;font-size:14px}}
 label{{display:block;font-size:13px;margin:14px 0 6px;color:#4B4E6D}}
 input{{width:100%;box-sizing:border-box;padding:10px 12px;border:1px solid #D9DEE7;border-radius:8px;font-size:14px}}
 input:focus{{outline:2px solid #1E88E5;border-color:#1E88E5}}
 button{{margin-top:22px;width:100%;padding:11px;background:#1E88E5;color:#fff;border:0;border-radius:8px;
   font-size:15px;cursor:pointer}} button:hover{{background:#1976D2}}
 .err{{background:#FDECEC;color:#EF4444;border-radius:8px;padding:8px 12px;font-size:13px;margin-bottom:8px}}
 .brand{{color:#1E88E5;font-weight:700}}
</style></head>
<body><form class="box" method="post" action="/login" id="login-form">
<h1><span class="brand">inDigitall</span> BI</h1><p class="sub">Ingrese para ver los tableros</p>
{error}
<input type="hidden" name="csrf_token" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label for="username">Usuario</label><input id="username" name="username" value="{username}" autocomplete="username" required autofocus>
<label for="password">Contraseña</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-button">Ingresar</button>
</form></body></html>"""


def _login_page(
    error: str | None = None, next_url: str = "/", status: int = 200, username: str = ""
) -> flask.Response:
    token = flask.session.get("csrf_token") or secrets.token_urlsafe(24)
    flask.session["csrf_token"] = token
    html = _LOGIN_HTML.format(
        error=f'<div class="err" id="login-error">{escape(error)}</div>' if error else "",
        csrf=escape(token),
        next=escape(_safe_next(next_url)),
        username=escape(username),
    )
    resp = flask.make_response(html, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def login_view() -> flask.Response:
    """GET: the form. POST: check the credentials, start the session, go to `next`."""
    if flask.request.method == "GET":
        return _login_page(next_url=flask.request.args.get("next", "/"))
    form = flask.request.form
    expected = flask.session.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(str(form.get("csrf_token", "")), expected):
        return _login_page("La sesión del formulario expiró; intente de nuevo.", form.get("next", "/"), 400)
    user = verify_user(form.get("username", "").strip(), form.get("password", ""))
    if user is None:
        log.info("dashboard sign-in failed for a user name")
        return _login_page(
            "Usuario o contraseña incorrectos.", form.get("next", "/"), 401, form.get("username", "")
        )
    flask.session.clear()
    flask.session.permanent = True
    flask.session["user"] = user.to_session()
    log.info("dashboard sign-in: %s (%s)", user.username, user.role)
    return flask.redirect(_safe_next(form.get("next")))


def logout_view() -> flask.Response:
    flask.session.clear()
    return flask.redirect("/login")


def guard() -> flask.Response | None:
    """before_request: pages redirect to /login, callbacks and other endpoints get 401."""
    path = flask.request.path
    if path == "/login" or any(path.startswith(p) for p in PUBLIC_PREFIXES):
        return None
    if current_user() is not None:
        return None
    if path.startswith("/_dash-") or path.startswith("/_reload") or flask.request.method != "GET":
        return flask.make_response(flask.jsonify({"error": "sign-in required"}), 401)
    if path.startswith("/_") or path.startswith("/assets/"):
        return flask.make_response(flask.jsonify({"error": "sign-in required"}), 401)
    full = flask.request.full_path if flask.request.query_string else path
    return flask.redirect("/login?" + urlencode({"next": full}))


def init_auth(server: flask.Flask) -> None:
    """Session settings, the guard, /login and /logout on the Flask server."""
    server.secret_key = secret_key()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="bi_session",
        SESSION_COOKIE_SECURE=os.environ.get("DASH_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    server.before_request(guard)
    server.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout_view, methods=["GET", "POST"])
