"""`bi run --all-tenants` end to end: real `bi run` processes per tenant against the simulator over
loopback HTTP (each tenant its own key, application and time zone), one dbt build for the batch,
the batch and per-tenant runs in the ledger, a tenant with a rejected key failing alone, a tenant
already running skipped with its reason, and each tenant's public.* equal to a run of it alone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from lib.config import reload_settings

pytestmark = pytest.mark.slow

KEYS = {"BT_KEY_A": "key-coop-a-6b1f0e", "BT_KEY_B": "key-coop-b-93c2aa", "BT_KEY_BAD": "not-the-key-000"}
# id: (simulated tenant, application, zone, key env)
TENANTS = {
    "coop_a": ("coop_a", "100274", "America/Bogota", "BT_KEY_A"),
    "coop_b": ("coop_b", "200001", "Europe/Madrid", "BT_KEY_B"),
    "coop_bad": ("coop_a", "100274", "America/Bogota", "BT_KEY_BAD"),  # 401: the key is wrong
    "coop_a_solo": ("coop_a", "100274", "America/Bogota", "BT_KEY_A"),  # coop_a's data, run alone
}
PUBLIC_TABLES = ("messages", "chat_conversations", "contacts", "toques_daily", "campaigns", "agents")


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    return module_db_url


@pytest.fixture(scope="module")
def batch_env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from lib.simulator import start_in_thread
    from lib.simulator.routes import SimTenant

    scratch = tmp_path_factory.mktemp("batch")
    sim = start_in_thread(
        port=0,
        scale=0.3,
        tenants=[
            SimTenant("coop_a", ("100274",), "America/Bogota", KEYS["BT_KEY_A"]),
            SimTenant("coop_b", ("200001",), "Europe/Madrid", KEYS["BT_KEY_B"]),
        ],
    )
    lines = ["tenants:"]
    for tid, (_sim, app, tz, key_env) in TENANTS.items():
        lines += [f"  - id: {tid}", f"    base_url: {sim.url}", f"    timezone: {tz}",
                  f"    application_ids: ['{app}']", f"    server_key_env: {key_env}"]  # fmt: skip
    (scratch / "tenants.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # the clock stands still for the module: the batch and the solo run of the same data, minutes
    # apart, read the simulator's day still filling up to the same instant
    frozen = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    env = {"RUNS_DIR": str(scratch / "runs"), "HOME": str(scratch / "home"), "TENANT_ID": "coop_a",
           "TENANTS_FILE": str(scratch / "tenants.yml"), "EXTRACT_BACKFILL_DAYS": "3",
           "BI_CLOCK_NOW": frozen.isoformat(), **KEYS}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("INDIGITALL_SERVER_KEY", raising=False)
        mp.delenv("BI_PIPELINE_FAULT", raising=False)
        reload_settings()
        yield env
    reload_settings()
    sim.stop()


def window() -> dict[str, str]:
    from lib import clock

    today = clock.today()
    return {"date_from": str(today - timedelta(days=4)), "date_to": str(today - timedelta(days=1))}


def content(db_url: str, tenant: str, table: str) -> list[tuple]:
    from lib.db import get_engine

    with get_engine("owner", db_url).connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM public.{table} WHERE tenant_id = :t"), {"t": tenant})  # noqa: S608
        return sorted(
            tuple(
                sorted(
                    (k, repr(v)) for k, v in r._mapping.items() if k not in ("id", "updated_at", "tenant_id")
                )
            )
            for r in rows
        )


def test_batch_runs_each_tenant_and_one_failing_api_fails_alone(batch_env, db_url) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.batch import get_batch, run_batch

    out = run_batch("full", ["coop_a", "coop_b", "coop_bad"], max_parallel=3, **window())
    assert out.tenants["coop_a"]["status"] == "success", out.tenants
    assert out.tenants["coop_b"]["status"] == "success", out.tenants
    assert out.tenants["coop_bad"]["status"] == "failed" and out.failed_tenants == ["coop_bad"]
    assert out.status == "failed" and out.exit_code == 1 and out.dbt_status == "success"
    # its dbt process was started while the last runs were in flight (lib.dbt_warm), not after them
    assert out.dbt_metrics.get("prestarted") is True, out.dbt_metrics
    row = get_batch(out.batch_id, role="pipeline")
    assert row["status"] == "failed" and row["dbt_status"] == "success" and row["tenants"] == [
        "coop_a", "coop_b", "coop_bad"]  # fmt: skip
    assert row["results"]["coop_bad"]["failed_steps"], row["results"]
    # the batch's error names each failed tenant with its own first failed step and message
    assert row["error"].startswith("failed tenants: coop_bad (step extract_"), row["error"]
    assert "401" in row["error"] and KEYS["BT_KEY_BAD"] not in row["error"]
    for tenant in ("coop_a", "coop_b", "coop_bad"):
        run = ledger.get_run(out.tenants[tenant]["run_id"], tenant, role="pipeline")
        assert run is not None and run.status == out.tenants[tenant]["status"]
        assert run.steps and all(s.step != "dbt_build" for s in run.steps)  # ONE build: the batch's
    # three runs in flight on this machine's cores: one worker each, whose kernels serve step after
    # step: one for the extracts, one for the transforms and post-transforms
    workers = max(1, (os.cpu_count() or 1) // 3)
    run = ledger.get_run(out.tenants["coop_a"]["run_id"], "coop_a", role="pipeline")
    assert run.params["max_workers"] == workers, run.params  # what the batch asked its launch for
    ran = [s for s in run.steps if s.status == "success"]
    fresh = [s.step for s in ran if not (s.metrics or {}).get("kernel_reused")]
    assert len(ran) > 10 and 1 <= len(fresh) <= 2 * workers, fresh
    # those kernels came from the batch's fork server (lib.pipeline.kernel_forkserver), not a launch
    assert all((s.metrics or {}).get("kernel_forked") for s in ran), [s.step for s in ran]
    # and its worker was forked from its `bi run` process (no thread there), not a fresh Python
    assert {(s.metrics or {}).get("worker_start") for s in ran} == {"fork"}
    # each `bi run` itself was forked by that server too (it had imported the runner), and wrote its
    # output to its own run.log (the descriptor the server passed on)
    for tenant in ("coop_a", "coop_b", "coop_bad"):
        rec = ledger.get_run(out.tenants[tenant]["run_id"], tenant, role="pipeline")
        log = (Path(rec.archive_dir) / "run.log").read_text(encoding="utf-8")
        assert (
            f"run {rec.run_id} {rec.status.upper()}" in log and "forked by the batch's fork server" in log
        ), log[-500:]
        assert f"pid {rec.pid} forked" in log
    from lib.db import get_engine

    with get_engine("owner", db_url).connect() as conn:
        tagged = dict(conn.execute(text("SELECT tenant_id, count(*) FROM ops.pipeline_runs WHERE batch_id = :b "
                                        "GROUP BY 1"), {"b": out.batch_id}).all())  # fmt: skip
        log_401 = conn.execute(
            text("SELECT count(*) FROM raw.extraction_log WHERE tenant_id = 'coop_bad' AND http_status = 401")
        ).scalar_one()
    assert tagged == {"coop_a": 1, "coop_b": 1, "coop_bad": 1} and log_401 > 0
    for table in ("messages", "toques_daily"):
        assert content(db_url, "coop_a", table) and content(db_url, "coop_b", table), table
        assert content(db_url, "coop_a", table) != content(db_url, "coop_b", table)  # their own data
    assert not content(db_url, "coop_bad", "messages")

    # coop_a's public.* equals a run of the same data alone (outside any batch)
    from lib.pipeline.runner import RunOptions, run_pipeline

    solo = run_pipeline(RunOptions(mode="full", tenant="coop_a_solo", progress=False, **window()))
    assert solo.exit_code == 0, solo.message
    for table in PUBLIC_TABLES:
        assert content(db_url, "coop_a", table) == content(db_url, "coop_a_solo", table), table


def _forget(db_url: str, tenant: str, step: str) -> None:
    """The tenant's last success of `step` is forgotten: its next run must run it."""
    from lib.db import get_engine

    with get_engine("owner", db_url).begin() as conn:
        conn.execute(
            text("DELETE FROM ops.step_state WHERE tenant_id = :t AND step = :s"), {"t": tenant, "s": step}
        )


def _runs_of(db_url: str, tenant: str) -> int:
    from lib.db import get_engine

    with get_engine("owner", db_url).connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM ops.pipeline_runs WHERE tenant_id = :t"), {"t": tenant}
        ).scalar_one()


def test_a_tenant_already_running_is_skipped_with_its_reason(batch_env, db_url) -> None:
    from lib.pipeline.batch import run_batch
    from lib.pipeline.lock import TenantLock

    for tenant in ("coop_a", "coop_b"):  # so both have work to do (an up-to-date tenant is not started)
        _forget(db_url, tenant, "transform_messages")
    held = TenantLock("coop_b").acquire()
    try:
        out = run_batch("transform-only", ["coop_a", "coop_b"], max_parallel=2)
    finally:
        held.release()
    assert (
        out.tenants["coop_b"]["status"] == "skipped" and "already running" in out.tenants["coop_b"]["reason"]
    )
    assert out.tenants["coop_a"]["status"] == "success", out.tenants
    assert out.status == "success" and out.exit_code == 0 and out.skipped_tenants == ["coop_b"]


def test_transform_only_batch_with_nothing_new_starts_no_run(batch_env, db_url) -> None:
    """Nothing new since the last batch: no tenant run is started (no process, no kernel), dbt is up
    to date; a tenant whose transform must run again runs alone, and dbt builds only its selection."""
    from lib.pipeline.batch import get_batch, run_batch

    run_batch("transform-only", ["coop_a", "coop_b"], max_parallel=2)  # whatever is left, done now
    before = {t: _runs_of(db_url, t) for t in ("coop_a", "coop_b")}
    idle = run_batch("transform-only", ["coop_a", "coop_b"], max_parallel=2)
    assert idle.uptodate_tenants == ["coop_a", "coop_b"], idle.tenants
    assert all("run_id" not in r and "al día" in r["reason"] for r in idle.tenants.values())
    assert {t: _runs_of(db_url, t) for t in ("coop_a", "coop_b")} == before
    assert idle.dbt_status == "uptodate" and idle.status == "success" and idle.exit_code == 0
    assert get_batch(idle.batch_id, role="pipeline")["results"]["coop_b"]["status"] == "uptodate"

    _forget(db_url, "coop_b", "transform_contacts")
    one = run_batch("transform-only", ["coop_a", "coop_b"], max_parallel=2)
    assert one.tenants["coop_a"]["status"] == "uptodate" and one.tenants["coop_b"]["status"] == "success"
    assert (
        _runs_of(db_url, "coop_b") == before["coop_b"] + 1 and _runs_of(db_url, "coop_a") == before["coop_a"]
    )
    assert one.dbt_status in ("success", "uptodate"), one.error  # rows rewritten equal: maybe nothing changed


def test_a_second_batch_while_one_runs_runs_nothing(batch_env, db_url) -> None:
    from lib.pipeline.batch import get_batch, run_batch
    from lib.pipeline.lock import BatchLock

    before = _runs_of(db_url, "coop_a")
    held = BatchLock().acquire()
    try:
        out = run_batch("full", ["coop_a"], **window())
    finally:
        held.release()
    assert out.locked and out.exit_code == 3 and out.status == "failed"
    assert "another batch of tenants is in progress" in out.error
    assert _runs_of(db_url, "coop_a") == before
    assert get_batch(out.batch_id, role="pipeline")["status"] == "failed"
