"""`GET /reports/<run_id>/<html|pdf|notebook>?tenant=T`: a weekly report's archived files.

Like `/notebooks/…`: a signed-in user allowed to see the tenant; the path comes from the ledger (read
for that tenant under RLS) and must resolve inside RUNS_DIR."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import flask

from dash_app.notebooks import runs_root, safe_notebook_path, viewer_tenant

FILES = {"html": ("informe.html", "text/html"), "pdf": ("informe.pdf", "application/pdf")}


def _inside_runs(path: str) -> Path | None:
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_file() and resolved.is_relative_to(runs_root()) else None


def report_file_view(run_id: str, kind: str) -> flask.Response:
    tenant = viewer_tenant()
    from dash_app.queries import runs as runs_q

    row = runs_q.report_artifact(tenant, run_id)
    if not row:
        flask.abort(404)
    if kind == "notebook":
        path = safe_notebook_path(row.get("notebook_html"))
        mimetype = "text/html"
    elif kind in FILES:
        name, mimetype = FILES[kind]
        # The archive gzips artifacts (lib.pipeline.worker); runs from before that keep the plain file.
        found = [a for a in (row.get("artifacts") or []) if str(a).endswith((name, f"{name}.gz"))]
        path = _inside_runs(found[0]) if found else None
    else:
        flask.abort(404)
    if path is None:
        flask.abort(404)
    download = f"informe-{tenant}-{row.get('week') or run_id}.{'pdf' if kind == 'pdf' else 'html'}"
    body: Path | io.BytesIO = io.BytesIO(gzip.decompress(path.read_bytes())) if path.suffix == ".gz" else path
    resp = flask.send_file(
        body, mimetype=mimetype, max_age=0, as_attachment=kind == "pdf", download_name=download
    )
    resp.headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def init_report_files(server: flask.Flask) -> None:
    server.add_url_rule("/reports/<run_id>/<kind>", "report_file", report_file_view, methods=["GET"])
