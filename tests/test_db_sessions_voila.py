"""While Voila serves a notebook, every database session its kernel holds belongs to the analyst login,
with neither SUPERUSER nor BYPASSRLS (pg_stat_activity). The server gets only ANALYST_DATABASE_URL.
Voila asks the dashboards who is signed in (BI_AUTH_URL): they run on a database of their own, so
none of their sessions is in the watched one."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from db_sessions import SessionWatch, assert_least_privilege, serve, server_env
from fixtures_dash import PASSWORD

from lib.db import dispose_engines
from lib.db.pgcluster import free_port
from lib.serve import ANALYSIS_DIR, build_command

NOTEBOOK = sorted(p.name for p in ANALYSIS_DIR.glob("*.ipynb"))[0]


@pytest.mark.slow
def test_voila_kernels_hold_only_analyst_login_sessions(
    dbt_build, dash_db, dash_users, tmp_path: Path
) -> None:
    dispose_engines()
    port, dash_port = free_port(), free_port()
    base, dash = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dash_port}"
    env = {**server_env("analyst", dbt_build.db_url), "BI_AUTH_URL": f"{dash}/auth/verify"}
    login = re.search(r"//([^:]+):", env["ANALYST_DATABASE_URL"]).group(1)
    query = "?tenant=demo&date_from=2026-03-02&date_to=2026-03-15"
    argv = build_command("voila", host="127.0.0.1", port=port)
    dash_argv = build_command("dash", host="127.0.0.1", port=dash_port)
    with (
        serve(dash_argv, server_env("app", dash_db), f"{dash}/login", tmp_path / "dash.log"),
        SessionWatch(dbt_build.db_url) as watch,
        serve(argv, env, base + "/", tmp_path / "voila.log"),
    ):
        http = requests.Session()
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', http.get(f"{dash}/login", timeout=30).text
        ).group(1)
        signed = http.post(f"{dash}/login", data={"username": "ana_admin", "password": PASSWORD, "csrf_token": token},
                           allow_redirects=False, timeout=60)  # fmt: skip
        assert signed.status_code == 302
        page = http.get(f"{base}/voila/render/{NOTEBOOK}{query}", timeout=180)
        assert page.status_code == 200 and "bi-kpi" in page.text and "bi-error" not in page.text
        time.sleep(0.3)
    assert_least_privilege(watch, login)
