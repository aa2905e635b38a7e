"""Sign-in for the dashboards: Flask session login, the request guard, the tenant rule, and the
forward-auth check (`GET /auth/verify`) that Caddy and Voila ask.

Every data request is decided server-side from the session: an admin may pick any configured tenant,
a viewer always gets their own, whatever the URL or a hand-made callback POST asks for.

A session cookie holds the user row's id, its session version and the sign-in time, never the role
or tenant: those come from the row on every request (`lib.auth.session_user`, cached
DASH_SESSION_CHECK_S seconds per worker, default 5). Signing out bumps the version (every copy of
the cookie ends, on every worker, within that cache); so does removing, demoting or re-passwording
the user. A session ends DASH_SESSION_HOURS (default 12) after sign-in, however busy: no sliding.
Sign-in attempts are throttled per user name and per client address (`lib.signin_throttle`).
Pages and callbacks are sent with `Cache-Control: no-store` (Back after sign-out shows no numbers).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import secrets
import threading
import time
from datetime import timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlencode

import flask
from sqlalchemy.exc import SQLAlchemyError

from dash_app.errors import MESSAGES
from lib import signin_throttle
from lib.auth import MAX_FIELD_CHARS, User, clock_now, end_sessions, session_user, verify_user
from lib.config import ConfigError, env_value
from lib.identity import SECRET_KEY_FILE, SESSION_COOKIE, env_number, safe_next, sign_in_url

SessionUser = User
log = logging.getLogger(__name__)

# Reachable without a dashboard session, matched exactly (the API has its own bearer token).
PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/auth/verify", "/api/run-pipeline"})
PUBLIC_PATTERNS = (re.compile(r"/api/runs/[^/]+"),)
# Static files that may be cached (no data in them); everything else is sent `no-store`.
CACHEABLE_PREFIXES = ("/assets/", "/_dash-component-suites/")
MIN_SECRET_BYTES = 32
LOGIN_MAX_BYTES = 64 * 1024


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


# -- sessions --------------------------------------------------------------------------------------
def session_lifetime() -> timedelta:
    """DASH_SESSION_HOURS (default 12): how long a session lasts after sign-in."""
    return timedelta(hours=env_number("DASH_SESSION_HOURS", 12, minimum=0.01))


class _RowCache:
    """Per-worker cache of the user rows behind sessions: a few seconds, so revocation is quick."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, tuple[float, User | None]] = {}

    def get(self, uid: int) -> User | None:
        now = time.monotonic()
        with self._lock:
            hit = self._rows.get(uid)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = session_user(uid)
        with self._lock:
            if len(self._rows) > 10_000:
                self._rows = {k: v for k, v in self._rows.items() if v[0] > now}
            self._rows[uid] = (now + env_number("DASH_SESSION_CHECK_S", 5), row)
        return row

    def forget(self, uid: int) -> None:
        with self._lock:
            self._rows.pop(uid, None)


_rows = _RowCache()


def _session_user(data: object) -> User | None:
    """The user of a session cookie's payload when it is still valid (row, version, lifetime)."""
    if not isinstance(data, dict):
        return None
    uid, version, issued = data.get("uid"), data.get("sv"), data.get("iat")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (uid, version, issued)):
        return None  # a cookie from before server-side sessions, or not ours
    if clock_now().timestamp() >= issued + session_lifetime().total_seconds():
        return None
    try:
        row = _rows.get(uid)
    except Exception:  # fail closed: no database, no session
        log.exception("session check: the user row could not be read")
        return None
    if row is None or row.session_version != version or row.username != data.get("username"):
        return None
    return row


def current_user() -> User | None:
    """The signed-in user of this request (checked against the user row), or None."""
    if not flask.has_request_context():
        return None
    if "_bi_user" not in flask.g:
        flask.g._bi_user = _session_user(flask.session.get("user"))
    return flask.g._bi_user


def require_user() -> User:
    """The signed-in user; raises Unauthorized when there is none."""
    user = current_user()
    if user is None:
        raise Unauthorized("sign-in required")
    return user


def secret_key(data_dir: Path | None = None) -> str:
    """DASH_SECRET_KEY (≥ 32 bytes), else a random key generated once in `.data/dash_secret_key` (0600)."""
    configured = env_value("DASH_SECRET_KEY")
    if configured:
        if len(configured.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"DASH_SECRET_KEY is too short: it must have at least {MIN_SECRET_BYTES} bytes "
                "(generate one with `openssl rand -hex 32`)"
            )
        return configured
    if data_dir is None:
        from lib.config import get_settings

        data_dir = get_settings().data_dir
    path = Path(data_dir) / SECRET_KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # exclusive create: concurrent workers agree on the first key written
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                value = path.read_text(encoding="utf-8").strip()
                if len(value) >= MIN_SECRET_BYTES:
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


def _trusted_proxy(peer: str) -> bool:
    """Is the peer one of FORWARDED_ALLOW_IPS (gunicorn's setting; default 127.0.0.1, ::1)?"""
    allowed = [a.strip() for a in env_value("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").split(",")]
    if "*" in allowed:
        return True
    for entry in allowed:
        try:
            if entry and ipaddress.ip_address(peer) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address() -> str:
    """The client's address: the proxy's last X-Forwarded-For hop when the peer is a trusted proxy."""
    peer = flask.request.remote_addr or ""
    forwarded = flask.request.headers.get("X-Forwarded-For", "")
    if forwarded and _trusted_proxy(peer):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:100]
    return peer


_LOGIN_HTML = """<!doctype html>
<html lang="es-CO"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
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
        next=escape(safe_next(next_url)),
        username=escape(username),
    )
    resp = flask.make_response(html, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _throttled(wait_s: int, next_url: str, username: str = "") -> flask.Response:
    """429 with a Spanish message and Retry-After."""
    minutes = -(-wait_s // 60)
    when = f"{minutes} minuto{'s' if minutes != 1 else ''}" if wait_s >= 60 else f"{wait_s} segundos"
    resp = _login_page(
        f"Demasiados intentos fallidos. Espere {when} antes de volver a intentarlo.", next_url, 429, username
    )
    resp.headers["Retry-After"] = str(wait_s)
    return resp


def _check_credentials(username: str, password: str, next_url: str) -> User | flask.Response:
    """The signed-in user, or the refusal to send (throttled: 429; wrong: 401)."""
    address = client_address()
    wait = signin_throttle.wait_seconds(username, address)
    if wait > 0:
        log.warning("dashboard sign-in refused: too many failures (user name or address)")
        return _throttled(wait, next_url, username)
    user = verify_user(username, password)
    if user is None:
        wait = signin_throttle.record_failure(username, address)
        log.info("dashboard sign-in failed for a user name")
        if wait > 0:
            return _throttled(wait, next_url, username)
        return _login_page("Usuario o contraseña incorrectos.", next_url, 401, username)
    signin_throttle.record_success(username)
    return user


def login_view() -> flask.Response:
    """GET: the form. POST: throttle, check the credentials, start the session, go to `next`."""
    if flask.request.method == "GET":
        return _login_page(next_url=flask.request.args.get("next", "/"))
    flask.request.max_content_length = LOGIN_MAX_BYTES
    form = flask.request.form
    next_url = str(form.get("next", "/"))[:MAX_FIELD_CHARS]
    expected = flask.session.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(str(form.get("csrf_token", "")), expected):
        return _login_page("La sesión del formulario expiró; intente de nuevo.", next_url, 400)
    username = str(form.get("username", ""))[:MAX_FIELD_CHARS].strip()
    try:
        outcome = _check_credentials(username, str(form.get("password", "")), next_url)
    except SQLAlchemyError:
        log.exception("dashboard sign-in: the database did not answer")
        return _login_page(MESSAGES[503][1], next_url, 503)
    if isinstance(outcome, flask.Response):
        return outcome
    user = outcome
    flask.session.clear()
    flask.session.permanent = True
    flask.session["user"] = user.to_session(clock_now())
    log.info("dashboard sign-in: %s (%s)", user.username, user.role)
    return flask.redirect(safe_next(next_url))


def logout_view() -> flask.Response:
    """End the session everywhere (the user's session version moves on), then the sign-in page."""
    user = current_user()
    if user is not None and user.uid is not None and user.session_version is not None:
        try:
            end_sessions(user.uid, user.session_version)
            log.info("dashboard sign-out: %s (every session of the user ended)", user.username)
        except SQLAlchemyError:  # this browser's cookie still goes; the others end at their expiry
            log.exception("dashboard sign-out: the session version could not be moved on")
        _rows.forget(user.uid)
    flask.session.clear()
    resp = flask.redirect("/login")
    resp.headers["Clear-Site-Data"] = '"cache"'
    return resp


# -- forward auth ----------------------------------------------------------------------------------
def _original_url() -> str | None:
    """The URL the browser asked for, from Caddy's forward_auth headers (None without them)."""
    headers = flask.request.headers
    host = headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if not host:
        return None
    proto = headers.get("X-Forwarded-Proto", "https").split(",")[0].strip() or "https"
    uri = headers.get("X-Forwarded-Uri", "/") or "/"
    return f"{proto}://{host}{uri if uri.startswith('/') else '/' + uri}"


def _is_browser_navigation() -> bool:
    headers = flask.request.headers
    method = (headers.get("X-Forwarded-Method") or flask.request.method).upper()
    return (
        method in ("GET", "HEAD")
        and "text/html" in headers.get("Accept", "")
        and headers.get("Upgrade", "").lower() != "websocket"
    )


def verify_view() -> flask.Response:
    """`GET /auth/verify[?role=admin]`: 200 + X-BI-User/Role/Tenant, else 302 (browsers)/401, or 403."""
    role = flask.request.args.get("role") or None
    if role not in (None, "admin", "viewer"):
        return flask.make_response(flask.jsonify({"error": "role must be admin or viewer"}), 400)
    user = current_user()
    if user is None:
        if _is_browser_navigation():
            return flask.redirect(sign_in_url(_original_url(), base=flask.request.host_url), 302)
        resp = flask.make_response(flask.jsonify({"error": "sign-in required"}), 401)
        resp.headers["WWW-Authenticate"] = 'Cookie realm="bi", cookie-name="' + SESSION_COOKIE + '"'
        return resp
    if role == "admin" and not user.is_admin:
        return flask.make_response(flask.jsonify({"error": "admin only"}), 403)
    resp = flask.make_response("", 200)
    resp.headers["X-BI-User"] = user.username
    resp.headers["X-BI-Role"] = user.role
    resp.headers["X-BI-Tenant"] = "" if user.is_admin else (user.tenant_id or "")
    return resp


# -- the guard -------------------------------------------------------------------------------------
def is_public(path: str) -> bool:
    """Exactly the public routes (no prefix match: `/login/x`, `/api/x`, `/healthzx` are not)."""
    return path in PUBLIC_PATHS or any(p.fullmatch(path) for p in PUBLIC_PATTERNS)


def guard() -> flask.Response | None:
    """before_request: pages redirect to /login, callbacks and other endpoints get 401."""
    path = flask.request.path
    if is_public(path) or current_user() is not None:
        return None
    if "user" in flask.session:
        flask.session.pop("user")  # ended, expired or revoked: drop it from the cookie
    if path.startswith(("/_", "/assets/")) or flask.request.method != "GET":
        return flask.make_response(flask.jsonify({"error": "sign-in required"}), 401)
    full = flask.request.full_path if flask.request.query_string else path
    return flask.redirect("/login?" + urlencode({"next": full}))


def no_store(resp: flask.Response) -> flask.Response:
    """after_request: nothing but static files may be kept by the browser or a proxy."""
    if not flask.request.path.startswith(CACHEABLE_PREFIXES):
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Pragma"] = "no-cache"
    return resp


def init_auth(server: flask.Flask) -> None:
    """Session settings, the guard, /login, /logout and /auth/verify on the Flask server."""
    server.secret_key = secret_key()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_DOMAIN=env_value("DASH_COOKIE_DOMAIN", "").strip() or None,
        SESSION_COOKIE_SECURE=env_value("DASH_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=session_lifetime(),
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie's expiry stays at sign-in + lifetime
    )
    server.before_request(guard)
    server.after_request(no_store)
    server.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout_view, methods=["GET", "POST"])
    server.add_url_rule("/auth/verify", "auth_verify", verify_view, methods=["GET", "HEAD"])
