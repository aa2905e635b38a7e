"""The papermill runner end to end: real notebooks, real kernels, simulator data, a test database."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_sim import demo_pipeline_env
from sqlalchemy import text

from lib.config import PROJECT_ROOT, reload_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    """This module loads tenants through the pipeline: its own database, not the session's."""
    return module_db_url


SERVER_KEY = "test-server-key-5d0c2b7e"


@pytest.fixture(scope="module")
def pipeline_env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Simulator on loopback + env for tenant demo; RUNS_DIR and HOME in a scratch folder."""
    scratch = tmp_path_factory.mktemp("pipeline")
    with demo_pipeline_env(db_url, scratch, server_key=SERVER_KEY, backfill_days=3) as env:
        yield env


def _wait_unlocked(tenant: str = "demo", timeout_s: float = 60) -> None:
    """A launched run marks its ledger row before its process has stopped its workers: wait for it."""
    from lib.pipeline.lock import is_locked

    deadline = time.monotonic() + timeout_s
    while is_locked(tenant) and time.monotonic() < deadline:
        time.sleep(0.2)


def _run(**kw):
    from lib.pipeline.runner import RunOptions, run_pipeline

    _wait_unlocked()
    return run_pipeline(RunOptions(progress=True, **kw))


def _count(db_url: str, table: str) -> int:
    from lib.db import get_engine

    with get_engine("owner", db_url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = 'demo'")).scalar_one()  # noqa: S608


def test_full_run_archives_every_notebook(pipeline_env: dict[str, str], db_url: str) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.graph import all_steps

    today = datetime.now(UTC).date()
    out = _run(mode="full", date_from=str(today - timedelta(days=7)), date_to=str(today - timedelta(days=1)))
    failures = [
        (s["step"], s["error_name"], s["error_message"]) for s in out.steps if s["status"] != "success"
    ]
    assert out.exit_code == 0, failures
    folder = out.archive_dir
    assert folder.parent.parent == Path(pipeline_env["RUNS_DIR"])
    expected = all_steps()
    from lib.pipeline.render import notebook_html

    for step in expected:
        nb = json.loads(gzip.decompress((folder / f"{step.stem}.ipynb.gz").read_bytes()))
        assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])
        assert not (folder / f"{step.stem}.html").exists() and not (folder / f"{step.stem}.ipynb").exists()
        html = notebook_html(str(folder / f"{step.stem}.ipynb.gz"))  # rendered on demand
        assert "run_step(" not in html and "<html" in html  # without code
    assert any(p.name.endswith("run_results.json.gz") for p in folder.iterdir())  # dbt's results archived
    assert sum(f.stat().st_size for f in folder.iterdir()) < 300_000  # the budget per full run
    manifest = json.loads((folder / "manifest.json").read_text())
    run = ledger.get_run(out.run_id).as_dict()
    assert (
        manifest["run_id"] == run["run_id"] == out.run_id and manifest["status"] == run["status"] == "success"
    )
    assert manifest["parameters"] == run["params"] and "INDIGITALL_SERVER_KEY" in json.dumps(manifest)
    assert SERVER_KEY not in json.dumps(manifest)
    assert (
        [s["step"] for s in manifest["steps"]]
        == [s["step"] for s in run["steps"]]
        == [s.id for s in expected]
    )
    for m, r in zip(manifest["steps"], run["steps"], strict=True):
        assert (m["status"], m["rows_out"], m["notebook_path"]) == (
            r["status"],
            r["rows_out"],
            r["notebook_path"],
        )
        assert m["notebook"] == Path(r["notebook_path"]).name
    assert manifest["lib_version"] and manifest["steps"][0]["metrics"]["attempt"] == 1
    for table in ("raw.raw_chat_stats", "public.messages", "public.contacts", "public.toques_daily"):
        assert _count(db_url, table) > 0, table
    assert ledger.last_success_by_tenant()["demo"].run_id == out.run_id


def test_failing_step_skips_dependents_then_resume(pipeline_env: dict[str, str], monkeypatch) -> None:
    from lib.pipeline import ledger

    monkeypatch.setenv("BI_PIPELINE_FAULT", "transform_chat_conversations")
    out = _run(mode="transform-only", from_step="chat_conversations")
    assert out.exit_code == 1
    steps = {s["step"]: s for s in out.steps}
    failed = steps["transform_chat_conversations"]
    assert failed["status"] == "failed" and failed["error_name"] == "InjectedFault"
    assert failed["error_cell"] == 2  # the `run_step(...)` cell of the committed notebook
    assert {s for s, v in steps.items() if v["status"] == "skipped"} == {
        "transform_chat_channels",
        "post_contacts_totals",
        "post_daily_stats_totals",
        "post_agents",
        "dbt_build",
    }
    marked = json.loads(gzip.decompress(Path(failed["notebook_path"]).read_bytes()))  # papermill's, archived
    assert any("papermill-error-cell-tag" in c["metadata"].get("tags", []) for c in marked["cells"])
    assert ledger.get_run(out.run_id).status == "failed"

    monkeypatch.delenv("BI_PIPELINE_FAULT")
    again = _run(resume=out.run_id)
    assert again.exit_code == 0, [
        (s["step"], s["error_message"]) for s in again.steps if s["status"] != "success"
    ]
    assert again.run_id == out.run_id and again.archive_dir == out.archive_dir
    steps = {s["step"]: s for s in again.steps}
    assert all(s["status"] == "success" for s in steps.values())
    assert (
        Path(steps["transform_chat_conversations"]["notebook_path"]).name
        == "17_transform_chat_conversations.attempt2.ipynb.gz"
    )
    assert steps["transform_chat_conversations"]["metrics"]["attempt"] == 2
    assert len(steps["transform_chat_conversations"]["metrics"]["attempts"]) == 2
    assert (out.archive_dir / "17_transform_chat_conversations.ipynb.gz").exists()  # first attempt kept
    assert (
        Path(steps["dbt_build"]["notebook_path"]).name == "90_dbt_build.ipynb.gz"
    )  # skipped before: attempt 1
    assert json.loads((out.archive_dir / "manifest.attempt2.json").read_text())["status"] == "success"
    assert json.loads((out.archive_dir / "manifest.json").read_text())["status"] == "failed"


def test_second_run_is_refused_with_exit_3(pipeline_env: dict[str, str]) -> None:
    from lib.pipeline.lock import TenantLock

    with TenantLock("demo"):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "lib", "run", "--mode", "transform-only", "--only", "post_agents"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 3, proc.stderr
        assert "in progress" in proc.stderr and time.perf_counter() - t0 < 30


def test_secret_scan_quarantines_a_leaking_notebook(pipeline_env: dict[str, str], monkeypatch) -> None:
    from lib.pipeline import ledger

    planted = "planted-token-7f3a9c1e55"
    monkeypatch.setenv("PIPELINE_API_TOKEN", planted)
    monkeypatch.setenv("BI_PIPELINE_FAULT", f"post_agents=leaked {planted}")  # the traceback echoes it
    reload_settings()
    try:
        out = _run(mode="transform-only", only="post_agents")
    finally:
        monkeypatch.delenv("PIPELINE_API_TOKEN")
        reload_settings()
    assert out.exit_code == 1
    step = out.steps[0]
    assert step["error_name"] == "SecretLeak" and "post_agents" in step["error_message"]
    assert planted not in json.dumps(ledger.get_run(out.run_id).as_dict(), default=str)
    assert not list(out.archive_dir.glob("23_post_agents*"))  # not archived
    quarantined = list((out.archive_dir.parents[2] / "quarantine").rglob("23_post_agents*.ipynb"))
    assert quarantined and planted in quarantined[0].read_text()
    assert str(quarantined[0]) in step["error_message"]
    from lib.pipeline.scan import find_secret

    for f in out.archive_dir.iterdir():
        assert find_secret(f.read_bytes(), [planted]) is None, f  # .gz files are read decompressed


def test_launch_run_and_runs_cli(pipeline_env: dict[str, str], capsys) -> None:
    import argparse

    from lib.pipeline import ledger
    from lib.pipeline.cli import runs_main
    from lib.pipeline.launch import launch_run
    from lib.pipeline.lock import RunLocked

    run_id = launch_run("demo", "transform-only", only="post_agents")
    with pytest.raises(RunLocked):
        launch_run("demo", "transform-only")
    deadline = time.monotonic() + 90
    while (run := ledger.get_run(run_id).as_dict())["status"] in (
        "queued",
        "running",
    ) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run["status"] == "success", run
    assert [s["step"] for s in run["steps"]] == ["post_agents"] and run["pid"]
    args = argparse.Namespace(action="show", run_id=run_id, tenant=None, limit=20, json=True)
    assert runs_main(args) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == run_id
    assert runs_main(argparse.Namespace(action="list", run_id=None, tenant="demo", limit=50, json=False)) == 0
    table = capsys.readouterr().out
    assert run_id in table and "status" in table.splitlines()[0]
    assert runs_main(argparse.Namespace(action="show", run_id=run_id, tenant=None, limit=20, json=False)) == 0
    assert "post_agents" in capsys.readouterr().out


LEAK_FORMS = {  # extract step -> how its (injected) error prints the planted token
    "extract_applications": lambda s: base64.b64encode(s.encode()).decode(),
    "extract_chat": lambda s: quote(s, safe=""),
    "extract_contacts": lambda s: s.upper(),
    "extract_push": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "extract_campaigns": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "extract_sms": lambda s: f'"{s[:9]}" + "{s[9:]}"',
    "extract_email": lambda s: base64.urlsafe_b64encode(b"xy:" + s.encode()).decode().rstrip("="),
}


def test_each_encoded_leak_fails_its_step_and_is_quarantined(
    pipeline_env: dict[str, str], monkeypatch
) -> None:
    """One full run, one leak form per extract step: every one fails and nothing under runs/ holds it."""
    from lib.pipeline import ledger
    from lib.pipeline.scan import build_index, find_secret

    planted = "Planted-Token-7f3a9c1e55d2"
    monkeypatch.setenv("PIPELINE_API_TOKEN", planted)
    faults = ",".join(f"{step}=leaked {form(planted)}" for step, form in LEAK_FORMS.items())
    monkeypatch.setenv("BI_PIPELINE_FAULT", faults)
    reload_settings()
    try:
        out = _run(mode="full")
    finally:
        monkeypatch.delenv("PIPELINE_API_TOKEN")
        reload_settings()
    assert out.exit_code == 1
    steps = {s["step"]: s for s in out.steps}
    index = build_index([planted])
    for step in LEAK_FORMS:
        assert steps[step]["status"] == "failed" and steps[step]["error_name"] == "SecretLeak", step
        assert "quarantined:" in steps[step]["error_message"], step
    assert steps["extract_inapp"]["status"] == "success"  # the clean step is archived as usual
    assert find_secret(json.dumps(ledger.get_run(out.run_id).as_dict(), default=str), index) is None
    runs_root = Path(pipeline_env["RUNS_DIR"])
    for f in runs_root.rglob("*"):
        if f.is_file():
            assert find_secret(f.read_bytes(), index) is None, f
    quarantined = {p.name.split(".")[0] for p in (runs_root.parent / "quarantine").rglob("*.ipynb")}
    assert {s for s in LEAK_FORMS if f"{int(steps[s]['seq']):02d}_{s}" in quarantined} == set(LEAK_FORMS)


def test_unwritable_quarantine_fails_the_step_with_a_clear_error(
    pipeline_env: dict[str, str], monkeypatch, tmp_path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("RUNS_QUARANTINE_DIR", str(blocker / "quarantine"))
    planted = "planted-token-0c4e8a2f61"
    monkeypatch.setenv("PIPELINE_API_TOKEN", planted)
    monkeypatch.setenv("BI_PIPELINE_FAULT", f"post_agents=leaked {planted}")
    reload_settings()
    try:
        out = _run(mode="transform-only", only="post_agents")
    finally:
        monkeypatch.delenv("PIPELINE_API_TOKEN")
        reload_settings()
    step = out.steps[0]
    assert step["status"] == "failed" and step["error_name"] == "SecretLeak"
    assert "not writable" in step["error_message"] and "discarded" in step["error_message"]
    assert planted not in json.dumps(out.steps) and not list(out.archive_dir.glob("23_post_agents*"))


def test_launched_run_log_is_scanned_and_env_is_the_allow_list(
    pipeline_env: dict[str, str], monkeypatch
) -> None:
    """A launched run prints the tenant's key (base64) into run.log: the log is quarantined, the run fails."""
    from lib.pipeline import ledger
    from lib.pipeline.launch import launch_run
    from lib.pipeline.scan import build_index, find_secret

    monkeypatch.setenv("PIPELINE_API_TOKEN", "launcher-only-token-31337")
    monkeypatch.setenv("DASH_SECRET_KEY", "dash-key-never-in-a-run-" + "e" * 20)
    reload_settings()
    encoded = base64.b64encode(SERVER_KEY.encode()).decode()
    monkeypatch.setenv("BI_PIPELINE_FAULT", f"run_log=a library logged {encoded}")
    run_id = launch_run("demo", "transform-only", only="post_agents")
    run = ledger.get_run(run_id).as_dict()
    environ = Path(f"/proc/{run['pid']}/environ").read_bytes().decode(errors="replace")
    assert SERVER_KEY in environ  # its tenant's key
    assert "launcher-only-token-31337" not in environ and "dash-key-never-in-a-run" not in environ
    deadline = time.monotonic() + 60
    while (run := ledger.get_run(run_id).as_dict())["status"] in (
        "queued",
        "running",
    ) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert run["status"] == "failed" and "SecretLeak" in (run["error"] or ""), run
    folder = Path(run["archive_dir"])
    assert not (folder / "run.log").exists()
    index = build_index([SERVER_KEY])
    for f in Path(pipeline_env["RUNS_DIR"]).rglob("*"):
        if f.is_file():
            assert find_secret(f.read_bytes(), index) is None, f
    log = next((Path(pipeline_env["RUNS_DIR"]).parent / "quarantine").rglob("run.log"))
    assert encoded in log.read_text()
