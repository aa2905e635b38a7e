"""While the dashboards (gunicorn, as `bi serve dash` starts it) serve and answer a sign-in, a health
check and a callback, every database session they hold belongs to the app login, with neither SUPERUSER
nor BYPASSRLS (pg_stat_activity). The server gets only APP_DATABASE_URL, no DATABASE_URL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from db_sessions import SessionWatch, assert_least_privilege, serve, server_env
from fixtures_dash import PASSWORD, TENANT_A
from test_dash_http import exec_payload

from lib.db import dispose_engines
from lib.db.pgcluster import free_port
from lib.serve import build_command


@pytest.mark.slow
def test_dashboards_hold_only_app_login_sessions(dash_db: str, dash_users, tmp_path: Path) -> None:
    dispose_engines()  # this process's own pools: only the server's sessions are new
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env("app", dash_db)
    login = re.search(r"//([^:]+):", env["APP_DATABASE_URL"]).group(1)
    with SessionWatch(dash_db) as watch, serve(build_command("dash", port=port), env, base + "/login",
                                                tmp_path / "dash.log"):  # fmt: skip
        http = requests.Session()
        page = http.get(base + "/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = http.post(
            base + "/login",
            data={"username": "victor_acme", "password": PASSWORD, "csrf_token": token, "next": "/"},
            allow_redirects=False,
            timeout=30,
        )
        assert signed.status_code == 302, signed.text[:500]
        assert http.get(base + "/healthz", timeout=30).json()["database"] == "ok"
        answer = http.post(base + "/_dash-update-component", json=exec_payload(TENANT_A), timeout=60)
        assert answer.status_code == 200 and "exec-kpis" in answer.text
        time.sleep(0.3)
    assert_least_privilege(watch, login)
