"""While Voila serves a notebook, every database session its kernel holds belongs to the analyst login,
with neither SUPERUSER nor BYPASSRLS (pg_stat_activity). The server gets only ANALYST_DATABASE_URL."""

# ruff: noqa: F811 - the dbt_build fixture is redefined as an argument

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from db_sessions import SessionWatch, assert_least_privilege, serve, server_env
from test_dbt_fixtures import dbt_build  # noqa: F401

from lib.db import dispose_engines
from lib.db.pgcluster import free_port
from lib.serve import ANALYSIS_DIR, build_command

NOTEBOOK = sorted(p.name for p in ANALYSIS_DIR.glob("*.ipynb"))[0]


@pytest.mark.slow
def test_voila_kernels_hold_only_analyst_login_sessions(dbt_build, tmp_path: Path) -> None:
    dispose_engines()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env("analyst", dbt_build.db_url)
    login = re.search(r"//([^:]+):", env["ANALYST_DATABASE_URL"]).group(1)
    query = "?tenant=demo&date_from=2026-03-02&date_to=2026-03-15"
    argv = build_command("voila", host="127.0.0.1", port=port)
    with SessionWatch(dbt_build.db_url) as watch, serve(argv, env, base + "/", tmp_path / "voila.log"):
        page = requests.get(f"{base}/voila/render/{NOTEBOOK}{query}", timeout=180)
        assert page.status_code == 200 and "bi-kpi" in page.text and "bi-error" not in page.text
        time.sleep(0.3)
    assert_least_privilege(watch, login)
