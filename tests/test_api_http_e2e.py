"""End to end: POST /api/run-pipeline starts a real run (a separate `python -m lib run` process) over
raw data extracted from the simulator; polling /api/runs/<id> sees it finish; the dashboards then
show numbers equal to SQL on public.*."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import date

import pytest
from fixtures_dash import as_user  # first: puts dash_app on sys.path
from sqlalchemy import text

pytestmark = pytest.mark.slow
TOKEN = "e2e-" + secrets.token_hex(16)
SIM_KEY = "sim-" + secrets.token_hex(8)
D0, D1 = date(2026, 11, 20), date(2026, 11, 22)


@pytest.fixture(scope="module")
def e2e(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A fresh migrated database, env for one tenant 'demo' against a loopback simulator, raw extracted."""
    from dash_app.queries import cache_clear
    from lib.db.scratch import scratch_database
    from lib.extract import EXTRACTORS, run_extractor
    from lib.simulator import start_in_thread

    root = tmp_path_factory.mktemp("e2e")
    with start_in_thread(port=0, seed=7, server_key=SIM_KEY) as sim:
        env = {
            "RUNS_DIR": str(root / "runs"),
            "TENANT_ID": "demo",
            "TENANTS_FILE": str(root / "none.yml"),
            "PIPELINE_API_TOKEN": TOKEN,
            "INDIGITALL_BASE_URL": sim.url,
            "INDIGITALL_SERVER_KEY": SIM_KEY,
            "INDIGITALL_APP_ID": "100274",
            "BI_DATA_DIR": str(root / "data"),
            "DASH_SECRET_KEY": secrets.token_hex(32),
        }
        with scratch_database("bi_test_e2e", server_url=server_url, env=env) as url:
            cache_clear()
            try:
                for extractor in EXTRACTORS:
                    run_extractor(extractor, tenant_id="demo", date_from=D0, date_to=D1, mode="full")
                yield {"url": url}
            finally:
                cache_clear()


def test_api_runs_the_pipeline_and_dashboards_match_public_tables(e2e):
    from dash_app.app import create_app
    from dash_app.pages.executive import update_executive
    from lib.db import get_engine

    app = create_app()
    client = app.server.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = client.post("/api/run-pipeline", json={"mode": "transform-only"}, headers=auth)
    assert r.status_code == 202, r.get_json()
    run_id = r.get_json()["run_id"]
    again = client.post("/api/run-pipeline", json={"mode": "transform-only", "tenant": "demo"}, headers=auth)
    assert again.status_code == 409 and again.get_json()["run_id"] == run_id
    deadline, doc = time.time() + 240, {}
    while time.time() < deadline:
        doc = client.get(f"/api/runs/{run_id}", headers=auth).get_json()
        if doc["done"]:
            break
        time.sleep(1)
    assert doc.get("done"), doc
    assert doc["steps"] and {s["step"] for s in doc["steps"]} >= {"dbt_build"}

    with get_engine("owner", e2e["url"]).connect() as conn:
        truth = (
            conn.execute(
                text(
                    "SELECT count(*) AS n, count(DISTINCT contact_id) AS c FROM public.messages "
                    "WHERE tenant_id = 'demo' AND date BETWEEN :a AND :b"
                ),
                {"a": D0, "b": D1},
            )
            .mappings()
            .first()
        )
    assert truth["n"] > 0
    window = {
        "tenant": "demo",
        "preset": "custom",
        "start": D0.isoformat(),
        "end": D1.isoformat(),
        "channel": "all",
    }
    with as_user(app, "admin"):
        cards = update_executive(window)[0]
    blob = str(cards)
    assert f"'{truth['n']:,}'".replace(",", ".") in blob
    assert f"'{truth['c']:,}'".replace(",", ".") in blob
    # last: the run itself must have succeeded (a failing dbt test fails the run, and this test)
    assert doc["status"] == "success", doc["error"]
    assert all(s["status"] == "success" for s in doc["steps"])
    health = client.get("/healthz").get_json()  # no tenant name: the newest success and its age
    assert health["last_success"] == doc["finished_at"] and 0 <= health["last_success_age_s"] < 300
