"""`GET /notebooks/<run_id>/<step>?tenant=T`: a step's archived notebook as HTML.

Only for a signed-in user allowed to see the tenant; the path comes from the ledger (read with the
reader role for that tenant, so RLS proves the run is the tenant's) and must resolve inside RUNS_DIR.
"""

from __future__ import annotations

from pathlib import Path

import flask

from dash_app.security import Unauthorized, allowed_tenants, current_user, resolve_tenant


def runs_root() -> Path:
    from lib.config import get_settings

    return get_settings().runs_path.resolve()


def safe_notebook_path(html_path: str | None, root: Path | None = None) -> Path | None:
    """The archived HTML file when it is an existing `.html` inside RUNS_DIR, else None."""
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
        if (
            resolved.suffix.lower() in (".html", ".htm")
            and resolved.is_file()
            and resolved.is_relative_to(root)
        ):
            return resolved
    return None


def notebook_view(run_id: str, step: str) -> flask.Response:
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
    from dash_app.queries import runs as runs_q

    path = safe_notebook_path(runs_q.step_html_path(tenant, run_id, step))
    if path is None:
        flask.abort(404)
    resp = flask.send_file(path, mimetype="text/html", max_age=0)
    # The notebook may carry scripts: run them in an opaque origin, away from our session.
    resp.headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def init_notebooks(server: flask.Flask) -> None:
    server.add_url_rule("/notebooks/<run_id>/<step>", "notebook", notebook_view, methods=["GET"])
