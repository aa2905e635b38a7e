"""`GET /notebooks/<run_id>/<step>?tenant=T`: a step's archived notebook as HTML.

Only for a signed-in user allowed to see the tenant; the location comes from the ledger (read with the
reader role for that tenant, so RLS proves the run is the tenant's). Runs archived before HTML was
rendered on demand kept an `.html`: it is served as is. Otherwise the HTML is rendered from the
archived notebook (`.ipynb.gz`), which must resolve inside RUNS_DIR, or start with RUNS_ARCHIVE_URL
once retention moved it to object storage. A pruned archive answers 410 with the reason; a rendered
page that would show a secret is never served.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import flask

from dash_app.security import Unauthorized, allowed_tenants, current_user, resolve_tenant

SUFFIXES = (".html", ".htm", ".ipynb", ".ipynb.gz")
PRUNED_ES = (
    "El cuaderno de esta ejecución fue depurado por la política de retención (RUNS_RETENTION_DAYS / "
    "RUNS_MAX_SIZE). El registro de la ejecución (estado, pasos, errores) se conserva."
)


def runs_root() -> Path:
    from lib.config import get_settings

    return get_settings().runs_path.resolve()


def safe_notebook_path(html_path: str | None, root: Path | None = None) -> Path | None:
    """The archived file when it is an existing `.html`/`.ipynb`/`.ipynb.gz` inside RUNS_DIR, else None."""
    if not html_path:
        return None
    root = (root or runs_root()).resolve()
    raw = Path(html_path)
    candidates = [raw] if raw.is_absolute() else [root / raw, root.parent / raw]
    from lib.config import PROJECT_ROOT

    if not raw.is_absolute():
        candidates.append(PROJECT_ROOT / raw)
    for cand in candidates:
        try:
            resolved = cand.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if resolved.name.lower().endswith(SUFFIXES) and resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    return None


def safe_archive_url(location: str | None) -> str | None:
    """An object-storage location of a moved archive, only under the configured RUNS_ARCHIVE_URL."""
    base = (os.environ.get("RUNS_ARCHIVE_URL") or "").rstrip("/")
    if not location or not base or "://" not in location:
        return None
    if not location.startswith(base + "/") or ".." in location[len(base) :].split("/"):
        return None
    return location if location.lower().endswith(SUFFIXES) else None


@lru_cache(maxsize=64)
def _render(location: str) -> str | None:
    """The step's HTML (archives never change: cached), or None when it would show a secret."""
    from lib.pipeline.render import notebook_html
    from lib.pipeline.scan import build_index, contains_secret, current_secrets

    html = notebook_html(location)
    return None if contains_secret(html, build_index(current_secrets())) else html


def viewer_tenant() -> str:
    """The tenant whose archive the signed-in user reads (`?tenant=` for an admin or a user of
    several): 401 signed out, 403 no tenant of theirs, 404 a tenant they may not see."""
    user = current_user()
    if user is None:
        flask.abort(401)
    requested = flask.request.args.get("tenant")
    try:
        tenant = resolve_tenant(user, requested)
    except Unauthorized:
        flask.abort(403)
    if requested and requested != tenant and requested not in allowed_tenants(user):
        flask.abort(404)
    return tenant


def notebook_view(run_id: str, step: str) -> flask.Response:
    tenant = viewer_tenant()
    from dash_app.queries import runs as runs_q

    found = runs_q.step_archive(tenant, run_id, step)
    if found is None:
        flask.abort(404)
    location: str | None = None
    for candidate in (found.get("html_path"), found.get("notebook_path")):
        path = safe_notebook_path(candidate)
        location = str(path) if path else safe_archive_url(candidate)
        if location:
            break
    if location is None:
        if found.get("archive_state") == "pruned":
            return flask.Response(PRUNED_ES, status=410, mimetype="text/plain; charset=utf-8")
        flask.abort(404)
    try:
        html = _render(location)
    except (OSError, ValueError):
        flask.abort(404)
    if html is None:
        flask.abort(404)
    resp = flask.Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    # The notebook may carry scripts: run them in an opaque origin, away from our session.
    resp.headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def init_notebooks(server: flask.Flask) -> None:
    server.add_url_rule("/notebooks/<run_id>/<step>", "notebook", notebook_view, methods=["GET"])
