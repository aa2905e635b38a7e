"""Fixtures for the dashboard/API/auth tests (a pytest plugin of tests/conftest.py; holds no tests itself).

The dashboards read `analytics.*` (dbt) and `ops.*`. Each test module runs in a database of its own
(`bi_test_dash_<hex>`, migrated; env vars restored when the module ends) seeded with synthetic analytics rows for two tenants, so they do not
depend on, or disturb, the dbt tables other test modules build in the session database.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

# dash_app/ is a top-level package beside lib/ (not installed): make it importable from the tests.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

TENANT_A = "acme"
TENANT_B = "globex"
START = date(2026, 1, 5)  # a Monday
DAYS = 60
END = START + timedelta(days=DAYS - 1)
PASSWORD = "correct-horse-battery"
TOKEN = "tok-" + "7d1e5c0a9b8f4e2d" * 2


@pytest.fixture(scope="module")
def dash_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Two tenants (tenants.yml), RUNS_DIR and a data dir in temp folders; env restored afterwards."""
    root = tmp_path_factory.mktemp("dash")
    tenants = root / "tenants.yml"
    tenants.write_text(
        "tenants:\n"
        f"  - id: {TENANT_A}\n    name: Acme\n    timezone: America/Bogota\n    application_ids: ['100274']\n"
        f"  - id: {TENANT_B}\n    name: Globex\n    timezone: America/Mexico_City\n",
        encoding="utf-8",
    )
    runs = root / "runs"
    runs.mkdir()
    env = {
        "TENANTS_FILE": str(tenants),
        "TENANT_ID": TENANT_A,
        "RUNS_DIR": str(runs),
        "BI_DATA_DIR": str(root / "data"),
        "PIPELINE_API_TOKEN": TOKEN,
        "DASH_SECRET_KEY": secrets.token_hex(32),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from lib.config import reload_settings

    reload_settings()
    try:
        yield {"root": root, "runs": runs}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reload_settings()


@pytest.fixture(scope="module")
def dash_db(server_url: str, dash_env: dict[str, Path]) -> Iterator[str]:
    """A migrated database of its own with synthetic analytics data for both tenants and a few runs."""
    from dash_app import synthetic
    from dash_app.queries import cache_clear
    from lib.db import get_engine
    from lib.db.scratch import scratch_database

    with scratch_database("bi_test_dash", server_url=server_url) as url:
        try:
            owner = get_engine("owner", url)
            synthetic.create_tables(owner)
            synthetic.seed_tenant(owner, TENANT_A, START, DAYS, 300, seed=0.11)
            synthetic.seed_tenant(owner, TENANT_B, START, DAYS, 90, timezone="America/Mexico_City", seed=0.77)
            _seed_runs(url, dash_env["runs"])
            cache_clear()
            yield url
        finally:
            cache_clear()


RUN_A_OK = "20260110T120000Z-acme01"
RUN_A_FAIL = "20260111T120000Z-acme02"
RUN_B_OK = "20260110T130000Z-globex1"


def _seed_runs(url: str, runs_dir: Path) -> None:
    """Ledger rows for both tenants; the acme run has an archived notebook HTML inside RUNS_DIR."""
    from sqlalchemy import text

    from lib.db import tenant_tx

    nb_dir = runs_dir / "2026-01-10" / RUN_A_OK
    nb_dir.mkdir(parents=True)
    (nb_dir / "01_extract_chat.html").write_text("<html><body><h1>extract chat notebook</h1></body></html>")
    b_dir = runs_dir / "2026-01-10" / RUN_B_OK
    b_dir.mkdir(parents=True)
    (b_dir / "01_extract_chat.html").write_text("<html><body><h1>globex secret notebook</h1></body></html>")
    outside = runs_dir.parent / "outside.html"
    outside.write_text("<html>outside</html>")
    runs = [
        (
            TENANT_A,
            RUN_A_OK,
            "success",
            None,
            [
                ("extract_chat", 1, "success", None, None, None, str(nb_dir / "01_extract_chat.html")),
                ("transform_messages", 2, "success", None, None, None, str(outside)),
            ],
        ),
        (
            TENANT_A,
            RUN_A_FAIL,
            "failed",
            "step transform_messages failed",
            [
                ("extract_chat", 1, "success", None, None, None, None),
                ("transform_messages", 2, "failed", "StepFailed", "boom: 3 rejects", 4, "../outside.html"),
            ],
        ),
        (
            TENANT_B,
            RUN_B_OK,
            "success",
            None,
            [
                ("extract_chat", 1, "success", None, None, None, str(b_dir / "01_extract_chat.html")),
            ],
        ),
    ]
    for tenant, run_id, status, error, steps in runs:
        with tenant_tx(tenant, "loader", url) as conn:
            conn.execute(
                text(
                    "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status, started_at, finished_at, "
                    "duration_ms, error, created_at) VALUES (:r, :t, 'full', :s, CAST(:c AS timestamptz), "
                    "CAST(:c AS timestamptz) + interval '90 seconds', 90000, :e, CAST(:c AS timestamptz))"
                ),
                {
                    "r": run_id,
                    "t": tenant,
                    "s": status,
                    "e": error,
                    "c": f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T12:00:00Z",
                },
            )
            for step, seq, st, en, em, ec, html in steps:
                conn.execute(
                    text(
                        "INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, kind, status, "
                        "duration_ms, rows_in, rows_out, error_name, error_message, error_cell, html_path) "
                        "VALUES (:r, :t, :q, :st, 'notebook', :s, 1500, 100, 90, :en, :em, :ec, :h)"
                    ),
                    {
                        "r": run_id,
                        "t": tenant,
                        "q": seq,
                        "st": step,
                        "s": st,
                        "en": en,
                        "em": em,
                        "ec": ec,
                        "h": html,
                    },
                )


@contextmanager
def live_server(flask_app) -> Iterator[str]:
    """The Flask app on a free loopback port (werkzeug, threaded, in this process: env changes of a
    test reach it); yields the base URL."""
    import threading

    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, flask_app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def dash_users(dash_db: str) -> dict[str, str]:
    """An admin and a viewer of each tenant (same password)."""
    from lib.auth import add_user

    add_user("ana_admin", PASSWORD, "admin")
    add_user("victor_acme", PASSWORD, "viewer", TENANT_A)
    add_user("gina_globex", PASSWORD, "viewer", TENANT_B)
    return {"admin": "ana_admin", "viewer_a": "victor_acme", "viewer_b": "gina_globex"}


@pytest.fixture(scope="module")
def dash_app_obj(dash_db: str, dash_users: dict[str, str]):
    """A fresh Dash app bound to the test database."""
    from dash_app.app import create_app

    return create_app()


def session_user(role: str = "admin", tenant: str | None = None) -> dict[str, str | int]:
    """A real session payload (user row id, session version, now) of the fixture user of that role;
    the user is created first when the database lacks it (e.g. a module's own database)."""
    from sqlalchemy import text

    from lib.auth import User, add_user, app_engine, clock_now

    names = {"admin": "ana_admin", TENANT_A: "victor_acme", TENANT_B: "gina_globex"}
    name = names.get(tenant or "admin", f"viewer_{tenant}")
    for attempt in range(2):
        with app_engine().connect() as conn:
            row = conn.execute(text("SELECT * FROM ops.dashboard_user_for_sign_in(:u)"), {"u": name}).first()
        if row is not None or attempt:
            break
        add_user(name, PASSWORD, role, tenant)
    return User(row.username, row.role, row.tenant_id, row.id, row.session_version).to_session(clock_now())


class as_user:  # reads as a context phrase: `with as_user(app, "viewer", "acme"):`
    """A Flask request context whose session holds the given user (for calling callbacks directly)."""

    def __init__(self, app, role: str | None = "admin", tenant: str | None = None) -> None:
        self.ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        self.role, self.tenant = role, tenant

    def __enter__(self):
        import flask

        self.ctx.push()
        if self.role is not None:
            flask.session["user"] = session_user(self.role, self.tenant)
        return self

    def __exit__(self, *exc: object) -> None:
        self.ctx.pop()


def store(tenant: str = TENANT_A, start: date = START, end: date = END, channel: str = "all") -> dict:
    return {
        "tenant": tenant,
        "preset": "custom",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "channel": channel,
    }
