"""`POST /api/run-pipeline` with `"tenant": "*"` or a list queues a batch (one row in
ops.pipeline_batches, the batch process spawned with exactly those tenants); the single-tenant
contract is unchanged; `GET /api/runs/<batch_id>` reports each tenant; bad selections are 400."""

from __future__ import annotations

import pytest
from fixtures_dash import (  # first: puts dash_app on sys.path
    TENANT_A,
    TENANT_B,
    TOKEN,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(dash_app_obj):
    return dash_app_obj.server.test_client()


@pytest.fixture
def spawned(monkeypatch):
    """The batch process is not started (the batch run itself is tested in test_batch_run.py);
    what would have been started is recorded."""
    from lib.pipeline import batch

    calls: list[list[str]] = []
    monkeypatch.setattr(batch, "_spawn", lambda argv, batch_id: calls.append(argv) or 0)
    import lib.pipeline.launch as launch

    monkeypatch.setattr(launch, "launch_run", lambda *a, **k: pytest.fail("a batch launched a single run"))
    return calls


def _arg(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_star_queues_every_configured_tenant(client, spawned, dash_db):
    r = client.post("/api/run-pipeline", json={"mode": "transform-only", "tenant": "*"}, headers=AUTH)
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["tenants"] == [TENANT_A, TENANT_B] and body["run_id"] == body["batch_id"]
    assert body["status_url"].endswith(f"/api/runs/{body['batch_id']}")
    (argv,) = spawned
    assert "--all-tenants" in argv and _arg(argv, "--tenants") == f"{TENANT_A},{TENANT_B}"
    assert _arg(argv, "--batch-id") == body["batch_id"] and _arg(argv, "--mode") == "transform-only"
    doc = client.get(body["status_url"].split("localhost", 1)[-1], headers=AUTH).get_json()
    assert doc["status"] == "queued" and not doc["done"] and doc["mode"] == "transform-only"
    assert doc["tenants"] == {TENANT_A: {"status": "queued"}, TENANT_B: {"status": "queued"}}
    assert doc["failed_tenants"] == [] and doc["batch_id"] == body["batch_id"]


def test_a_list_is_a_batch_in_configuration_order(client, spawned, dash_db):
    r = client.post("/api/run-pipeline", json={"mode": "full", "tenant": [TENANT_B, TENANT_A]}, headers=AUTH)
    assert r.status_code == 202 and r.get_json()["tenants"] == [TENANT_A, TENANT_B]
    one = client.post("/api/run-pipeline", json={"mode": "full", "tenant": [TENANT_B]}, headers=AUTH)
    assert one.status_code == 202 and one.get_json()["tenants"] == [TENANT_B]
    assert _arg(spawned[-1], "--tenants") == TENANT_B


@pytest.mark.parametrize("tenant", [[], ["nope"], [TENANT_A, "nope"], [3], [""], {"id": TENANT_A}, "", "**"])
def test_bad_selections_are_400_and_start_nothing(client, spawned, dash_db, tenant):
    r = client.post("/api/run-pipeline", json={"mode": "full", "tenant": tenant}, headers=AUTH)
    assert r.status_code == 400 and "error" in r.get_json() and spawned == []


def test_batch_needs_the_token(client, spawned, dash_db):
    r = client.post("/api/run-pipeline", json={"mode": "full", "tenant": "*"})
    assert r.status_code == 401 and spawned == []


def test_select_tenants_rules():
    from lib.pipeline.batch import TenantSelectionError, select_tenants

    known = ["a", "b", "c"]
    assert select_tenants(None, known, "b").tenants == ("b",) and not select_tenants(None, known, "b").batch
    assert select_tenants("c", known).tenants == ("c",)
    assert select_tenants("*", known).tenants == ("a", "b", "c") and select_tenants("*", known).batch
    assert select_tenants(["c", "a", "c"], known).tenants == ("a", "c")
    with pytest.raises(TenantSelectionError, match="'x'"):
        select_tenants(["a", "x"], known)
