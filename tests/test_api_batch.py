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
from sqlalchemy import text

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(dash_app_obj):
    return dash_app_obj.server.test_client()


@pytest.fixture
def spawned(monkeypatch, dash_db):
    """The batch process is not started (the batch run itself is tested in test_batch_run.py);
    what would have been started is recorded. Batches queued by earlier tests are finished first
    (a queued batch holds off the next launch: one batch at a time)."""
    from lib.db import get_engine
    from lib.pipeline import batch

    with get_engine("owner", dash_db).begin() as conn:
        conn.execute(text("UPDATE ops.pipeline_batches SET status = 'success' WHERE status = 'queued'"))

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


def _finish_queued(url: str) -> None:
    from lib.db import get_engine

    with get_engine("owner", url).begin() as conn:
        conn.execute(text("UPDATE ops.pipeline_batches SET status = 'success' WHERE status = 'queued'"))


def test_a_list_is_a_batch_in_configuration_order(client, spawned, dash_db):
    r = client.post("/api/run-pipeline", json={"mode": "full", "tenant": [TENANT_B, TENANT_A]}, headers=AUTH)
    assert r.status_code == 202 and r.get_json()["tenants"] == [TENANT_A, TENANT_B]
    _finish_queued(dash_db)
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


def test_one_batch_at_a_time_409_while_queued_or_locked(client, spawned, dash_db):
    """A second batch while the first is queued (its process starting) or holds the batch lock is a
    409 naming the batch in progress, and starts nothing; once it ended, the next one is accepted."""
    from lib.pipeline.lock import BatchLock

    first = client.post("/api/run-pipeline", json={"mode": "full", "tenant": "*"}, headers=AUTH)
    assert first.status_code == 202
    again = client.post("/api/run-pipeline", json={"mode": "transform-only", "tenant": "*"}, headers=AUTH)
    assert again.status_code == 409, again.get_json()
    assert again.get_json() == {"error": "already running", "run_id": first.get_json()["batch_id"],
                                "batch_id": first.get_json()["batch_id"]}  # fmt: skip
    assert len(spawned) == 1
    _finish_queued(dash_db)
    held = BatchLock(dash_db).acquire()  # a batch process (started by the CLI, say) is running
    try:
        locked = client.post("/api/run-pipeline", json={"mode": "full", "tenant": [TENANT_A]}, headers=AUTH)
        assert locked.status_code == 409 and locked.get_json()["error"] == "already running"
    finally:
        held.release()
    assert len(spawned) == 1
    after = client.post("/api/run-pipeline", json={"mode": "full", "tenant": "*"}, headers=AUTH)
    assert after.status_code == 202 and len(spawned) == 2


def test_batch_status_lists_each_failed_tenant_with_its_message(client, spawned, dash_db):
    from lib.pipeline.batch import BatchOutcome, save_batch

    out = BatchOutcome("20261201T000000Z-batch-abc123", "full", status="failed", dbt_status="success",
                       error="failed tenants: b (step extract_contacts failed: HTTP 401)",
                       tenants={TENANT_A: {"status": "success", "run_id": "r1"},
                                TENANT_B: {"status": "failed", "error": "step extract_contacts failed: HTTP 401"},
                                "c": {"status": "uptodate", "reason": "al día"}})  # fmt: skip
    save_batch(out, dash_db)
    doc = client.get(f"/api/runs/{out.batch_id}", headers=AUTH).get_json()
    assert doc["done"] and not doc["ok"] and doc["failed_tenants"] == [TENANT_B]
    assert doc["uptodate_tenants"] == ["c"] and doc["skipped_tenants"] == []
    assert doc["error"] == {"step": None, "cell": None, "name": None,
                            "message": "failed tenants: b (step extract_contacts failed: HTTP 401)"}  # fmt: skip


def test_the_batch_process_gets_the_app_login_to_queue_runs_and_no_owner(monkeypatch):
    """The detached batch queues each tenant's run as the API does (app login, ops.queue_pipeline_run):
    without APP_DATABASE_URL every tenant's launch failed in the stack; never the owner's URL."""
    from lib.pipeline.batch import batch_env

    monkeypatch.setenv("APP_DATABASE_URL", "postgresql://bi_app:pw@db/bi")
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner:pw@db/bi")
    env = batch_env()
    assert env["APP_DATABASE_URL"] == "postgresql://bi_app:pw@db/bi" and "DATABASE_URL" not in env
