"""Pipeline HTTP API for n8n: bearer token (never logged), 202/409/401/400/503, status polling, health."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from fixtures_dash import RUN_A_FAIL, RUN_A_OK, TENANT_A, TENANT_B, TOKEN, live_server
from sqlalchemy import text

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(dash_app_obj):
    return dash_app_obj.server.test_client()


@pytest.fixture
def fake_launch(monkeypatch, dash_db):
    """launch_run replaced by a ledger insert (queued) + a thread that plays the run to success."""
    import lib.pipeline.launch as launch
    from lib.db import tenant_tx
    from lib.pipeline.lock import RunLocked

    launched: list[tuple[str, str]] = []
    busy: set[str] = set()

    def play(run_id: str, tenant: str) -> None:
        from lib.pipeline.lock import TenantLock

        lock = TenantLock(tenant).acquire()  # a real runner holds its lock while running (else: reaped)
        try:
            _play(run_id, tenant)
        finally:
            lock.release()

    def _play(run_id: str, tenant: str) -> None:
        for status, delay in (("running", 0.2), ("success", 0.3)):
            time.sleep(delay)
            with tenant_tx(tenant, "loader") as conn:
                conn.execute(
                    text(
                        "UPDATE ops.pipeline_runs SET status = :s, started_at = COALESCE(started_at, now()),"
                        " finished_at = CASE WHEN :s = 'success' THEN now() END WHERE run_id = :r"
                    ),
                    {"s": status, "r": run_id},
                )
                if status == "success":
                    conn.execute(
                        text(
                            "INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, status, "
                            "duration_ms, rows_out) VALUES (:r, :t, 1, 'dbt_build', 'success', 20, 5)"
                        ),
                        {"r": run_id, "t": tenant},
                    )
        busy.discard(tenant)

    def fake(tenant_id: str, mode: str = "full", **params: object) -> str:
        if tenant_id in busy:
            raise RunLocked(tenant_id, "held")
        run_id = f"fake-{len(launched) + 1}-{tenant_id}-{time.time_ns()}"
        with tenant_tx(tenant_id, "loader") as conn:
            conn.execute(
                text(
                    "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status) "
                    "VALUES (:r, :t, :m, 'queued')"
                ),
                {"r": run_id, "t": tenant_id, "m": mode},
            )
        busy.add(tenant_id)
        launched.append((tenant_id, mode))
        threading.Thread(target=play, args=(run_id, tenant_id), daemon=True).start()
        return run_id

    monkeypatch.setattr(launch, "launch_run", fake)
    yield launched
    deadline = time.time() + 5
    while busy and time.time() < deadline:
        time.sleep(0.05)


def test_202_then_poll_until_done(client, fake_launch):
    r = client.post("/api/run-pipeline", json={"mode": "transform-only", "tenant": TENANT_B}, headers=AUTH)
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["status_url"].endswith(f"/api/runs/{body['run_id']}")
    assert fake_launch == [(TENANT_B, "transform-only")]
    seen = []
    deadline = time.time() + 10
    while time.time() < deadline:
        doc = client.get(f"/api/runs/{body['run_id']}", headers=AUTH).get_json()
        seen.append(doc["status"])
        if doc["done"]:
            break
        time.sleep(0.1)
    assert doc["done"] and doc["status"] == "success" and doc["ok"] and doc["error"] is None
    assert doc["steps"][0]["step"] == "dbt_build" and doc["tenant"] == TENANT_B
    assert "queued" in seen or "running" in seen


def test_default_tenant_and_409_while_locked(client, fake_launch):
    first = client.post("/api/run-pipeline", json={"mode": "full"}, headers=AUTH)
    assert first.status_code == 202 and fake_launch[-1] == (TENANT_A, "full")
    second = client.post("/api/run-pipeline", json={"mode": "full"}, headers=AUTH)
    assert second.status_code == 409
    assert second.get_json() == {
        "error": "already running",
        "run_id": first.get_json()["run_id"],
        "tenant": TENANT_A,
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_401_without_or_with_a_wrong_token(client, fake_launch, headers):
    r = client.post("/api/run-pipeline", json={"mode": "full"}, headers=headers)
    assert r.status_code == 401 and fake_launch == []
    assert client.get(f"/api/runs/{RUN_A_OK}", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "full",
        {"mode": "everything"},
        {},
        {"mode": "full", "tenant": 3},
        {"mode": "full", "tenant": "nope"},
        {"mode": "full", "extra": 1},
    ],
)
def test_400_on_a_bad_body_or_unknown_tenant(client, fake_launch, body):
    r = (
        client.post("/api/run-pipeline", json=body, headers=AUTH)
        if body is not None
        else client.post(
            "/api/run-pipeline", data="{not json", headers={**AUTH, "Content-Type": "application/json"}
        )
    )
    assert r.status_code == 400 and "error" in r.get_json() and fake_launch == []


def test_503_when_no_token_is_configured(client, fake_launch, monkeypatch):
    from lib.config import reload_settings

    monkeypatch.delenv("PIPELINE_API_TOKEN")
    reload_settings()
    try:
        assert client.post("/api/run-pipeline", json={"mode": "full"}, headers=AUTH).status_code == 503
    finally:
        monkeypatch.setenv("PIPELINE_API_TOKEN", TOKEN)
        reload_settings()


def test_status_of_a_failed_run_names_step_cell_and_message(client):
    doc = client.get(f"/api/runs/{RUN_A_FAIL}", headers=AUTH).get_json()
    assert doc["status"] == "failed" and doc["done"] and not doc["ok"]
    assert doc["error"] == {
        "step": "transform_messages",
        "cell": 4,
        "name": "StepFailed",
        "message": "boom: 3 rejects",
    }
    assert [s["step"] for s in doc["steps"]] == ["extract_chat", "transform_messages"]
    assert client.get("/api/runs/does-not-exist", headers=AUTH).status_code == 404


def test_api_is_exempt_from_dashboard_sign_in_but_pages_are_not(client):
    assert client.get(f"/api/runs/{RUN_A_OK}", headers=AUTH).status_code == 200
    assert client.get("/", headers=AUTH).status_code == 302  # the token does not open the dashboards


def test_healthz_names_no_tenant_but_gives_the_newest_success_and_its_age(client, dash_db):
    from datetime import UTC, datetime

    from lib.db import get_engine

    with get_engine("owner", dash_db).connect() as conn:
        newest = conn.execute(
            text("SELECT max(finished_at) FROM ops.pipeline_runs WHERE status = 'success'")
        ).scalar()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert set(body) == {"database", "last_success", "last_success_age_s"}
    assert body["database"] == "ok"
    assert datetime.fromisoformat(body["last_success"]) == newest
    expected_age = (datetime.now(UTC) - newest).total_seconds()
    assert abs(body["last_success_age_s"] - expected_age) < 60
    assert TENANT_A not in r.get_data(as_text=True) and TENANT_B not in r.get_data(as_text=True)


def test_healthz_503_when_database_is_down(client, monkeypatch):
    import lib.db

    def broken(*a, **k):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(lib.db, "get_engine", broken)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["database"] == "error"


def test_token_never_logged(client, fake_launch, caplog, capfd, dash_app_obj):
    """Neither in log records (caplog) nor in a real server's output (werkzeug request log)."""
    from werkzeug.serving import make_server

    caplog.set_level(logging.DEBUG)
    client.post("/api/run-pipeline", json={"mode": "full", "tenant": TENANT_B}, headers=AUTH)
    client.post("/api/run-pipeline", json={"mode": "full"}, headers={"Authorization": f"Bearer {TOKEN}x"})
    client.get(f"/api/runs/{RUN_A_OK}", headers=AUTH)
    httpd = make_server("127.0.0.1", 0, dash_app_obj.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        import httpx

        base = f"http://127.0.0.1:{httpd.server_port}"
        httpx.get(f"{base}/api/runs/{RUN_A_OK}", headers=AUTH)
        httpx.post(f"{base}/api/run-pipeline", json={"mode": "oops"}, headers=AUTH)
        httpx.get(f"{base}/api/runs/{RUN_A_OK}", headers={"Authorization": "Bearer " + TOKEN[::-1]})
    finally:
        httpd.shutdown()
    out = capfd.readouterr()
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records) + out.out + out.err
    assert "api/runs" in logged  # the server did log its requests
    assert TOKEN not in logged and TOKEN[::-1] not in logged


def _stop_launched_runs(dash_db: str, tenant: str) -> list[str]:
    """Kill the runs the test launched (each leads its own process group) and mark them failed;
    returns their run ids."""
    import os
    import signal

    from lib.db import get_engine

    with get_engine("owner", dash_db).begin() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, pid FROM ops.pipeline_runs WHERE tenant_id = :t AND status IN ('queued', 'running')"
            ),
            {"t": tenant},
        ).all()
        for row in rows:
            if row.pid:
                try:
                    os.killpg(row.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        conn.execute(
            text("UPDATE ops.pipeline_runs SET status = 'failed', error = 'stopped by a test' "
                 "WHERE tenant_id = :t AND status IN ('queued', 'running')"),
            {"t": tenant},
        )  # fmt: skip
    return [r.run_id for r in rows]


@pytest.mark.parametrize("n", [2, 6])
def test_simultaneous_triggers_get_one_202_and_the_rest_409(dash_app_obj, dash_db, n):
    """Real HTTP, the real launch_run: the requests pass the door together; the database lets one
    queue. The run it spawns is stopped at once (this test only needs the ledger row)."""
    import httpx

    barrier = threading.Barrier(n)
    answers: list[httpx.Response] = []

    def trigger(base: str) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            body = {"mode": "transform-only", "tenant": TENANT_B}
            answers.append(client.post(f"{base}/api/run-pipeline", json=body, headers=AUTH))

    try:
        with live_server(dash_app_obj.server) as base:
            threads = [threading.Thread(target=trigger, args=(base,)) for _ in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
    finally:
        queued = _stop_launched_runs(dash_db, TENANT_B)
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] + [409] * (n - 1), [r.text for r in answers]
    accepted = next(r for r in answers if r.status_code == 202).json()["run_id"]
    assert {r.json()["run_id"] for r in answers if r.status_code == 409} == {accepted}
    assert queued == [accepted]
