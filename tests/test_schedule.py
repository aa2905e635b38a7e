"""A simulated day of the schedule (the short form of benchmarks/bench_schedule.py): two full and four
transform-only runs on small data under BI_CLOCK_NOW; bounded archive growth, up-to-date steps skipped
with their reason, dbt narrowed to the changed sources, and runs that end when killed or stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fixtures_sim import demo_pipeline_env
from sqlalchemy import text

from lib.config import PROJECT_ROOT

pytestmark = pytest.mark.slow
SERVER_KEY = "schedule-key-3e1f0a9b"
DAY = datetime(2026, 3, 2, tzinfo=UTC)  # the simulated day (the simulator serves data up to its clock)


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    return module_db_url


@pytest.fixture(scope="module")
def sched(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    scratch = tmp_path_factory.mktemp("schedule")
    with demo_pipeline_env(db_url, scratch, server_key=SERVER_KEY, backfill_days=1, scale=0.3) as env:
        yield env


def _at(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).isoformat()


def _run(mode: str, hours: float, monkeypatch: pytest.MonkeyPatch):
    from lib.pipeline.runner import RunOptions, run_pipeline

    monkeypatch.setenv("BI_CLOCK_NOW", _at(hours))
    t0 = time.perf_counter()
    out = run_pipeline(RunOptions(mode=mode, progress=False))
    return out, time.perf_counter() - t0


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _rows(db_url: str, table: str) -> int:
    from lib.db import get_engine

    with get_engine("owner", db_url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def test_a_day_of_schedule_skips_and_stays_bounded(
    sched: dict[str, str], db_url: str, monkeypatch, capsys
) -> None:
    runs = Path(sched["RUNS_DIR"])
    plan = [("full", 6), ("transform-only", 7), ("transform-only", 8), ("full", 12),
            ("transform-only", 13), ("transform-only", 14)]  # fmt: skip
    seen = []
    for mode, hour in plan:
        before = (_du(runs), _rows(db_url, "public.messages"))
        out, wall = _run(mode, hour, monkeypatch)
        assert out.exit_code == 0, [
            (s["step"], s["error_message"]) for s in out.steps if s["status"] == "failed"
        ]
        steps = {s["step"]: s for s in out.steps}
        seen.append(
            (
                mode,
                hour,
                out.run_id,
                steps,
                _du(runs) - before[0],
                _rows(db_url, "public.messages") - before[1],
            )
        )
    (_, _, _, first, first_bytes, first_rows) = seen[0]
    assert all(s["status"] == "success" for s in first.values()) and first_rows > 0
    assert first_bytes < 300_000  # compressed notebooks, no HTML copies
    for _mode, hour, _run_id, steps, grew, new_rows in seen[1:3] + seen[4:]:
        assert {s["status"] for s in steps.values()} == {"skipped"}, (hour, steps)
        assert all(s["reason"] and s["reason"].startswith("sin ") for s in steps.values())
        assert not any(s["notebook_path"] for s in steps.values())  # no kernel, no notebook
        assert grew < 20_000 and new_rows == 0  # a manifest, nothing else
    _, _, _, noon, noon_bytes, noon_rows = seen[3]  # six more hours of data
    assert noon_rows > 0 and noon_bytes < 300_000
    dbt = noon["dbt_build"]
    assert dbt["status"] == "success"
    select = dbt["metrics"]["result"]["select"]
    assert select and "source:indigitall.messages+" in select and len(select) < 11  # only changed sources
    # a selected build drops no test of what it builds: every unit test sits downstream of
    # public.messages, so the noon build runs (and passes) all those of the first, full build
    res, full = dbt["metrics"]["result"], first["dbt_build"]["metrics"]["result"]
    assert res["exclude"] is None and full["select"] is None
    assert full["unit_tests"] >= 4 and res["unit_tests"] == res["unit_tests_passed"] == full["unit_tests"]
    assert res["tests"] > 0 and res["tests_failed"] == 0 and 0 < res["models"] <= full["models"]
    skipped = {k for k, s in noon.items() if s["status"] == "skipped"}
    assert skipped and all(noon[k]["reason"] for k in skipped)  # e.g. sources without new raw rows
    import argparse

    from lib.pipeline.cli import runs_main  # `bi runs show` lists the skipped steps with their reasons

    capsys.readouterr()
    args = argparse.Namespace(
        action="show", run_id=seen[1][2], tenant="demo", limit=5, json=False, html=False
    )
    assert runs_main(args) == 0
    shown = capsys.readouterr().out
    assert "skipped" in shown and "sin datos nuevos" in shown and "sin cambios en public" in shown


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def _start_run(monkeypatch: pytest.MonkeyPatch, hours: float) -> subprocess.Popen:
    env = {**os.environ, "BI_CLOCK_NOW": _at(hours)}
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "lib", "run", "--mode", "full", "--no-progress"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _wait_running(deadline_s: float = 90) -> dict:
    from lib.pipeline import ledger

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        runs = ledger.list_runs("demo", limit=1)
        if runs and runs[0].status == "running":
            run = ledger.get_run(runs[0].run_id, "demo", reap=False).as_dict()
            if any(s["status"] == "running" for s in run["steps"]):
                return run
        time.sleep(0.2)
    raise AssertionError("no run reached a running step")


def test_a_killed_run_is_reaped_and_leaves_nothing_running(sched: dict[str, str], monkeypatch) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.lock import is_locked

    proc = _start_run(monkeypatch, 18)
    run = _wait_running()
    time.sleep(1.0)  # workers and kernels are up
    children = _descendants(proc.pid)
    assert children, "the run should have worker and kernel processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while (_alive(children) or is_locked("demo")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(children), [_cmdline(p) for p in _alive(children)]
    assert ledger.get_run(run["run_id"], "demo", reap=False).status == "running"  # as a kill leaves it
    reaped = ledger.get_run(run["run_id"], "demo").as_dict()  # what the API reads: reaped first
    assert reaped["status"] == "failed" and "proceso terminado" in reaped["error"]
    assert {s["status"] for s in reaped["steps"]} <= {"success", "failed", "skipped"}
    assert any(s["error_name"] == "ProcessGone" for s in reaped["steps"])
    frozen = ledger.get_run(run["run_id"], "demo").steps
    time.sleep(2)
    assert ledger.get_run(run["run_id"], "demo").steps == frozen  # nothing writes after the end


def test_sigterm_ends_the_run_failed_with_the_reason(sched: dict[str, str], monkeypatch) -> None:
    from lib.pipeline import ledger

    proc = _start_run(monkeypatch, 19)
    run = _wait_running()
    children = _descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM, proc.stderr.read().decode()[-2000:]
    ended = ledger.get_run(run["run_id"], "demo", reap=False).as_dict()
    assert ended["status"] == "failed" and "SIGTERM" in ended["error"]
    stopped = [s for s in ended["steps"] if s["error_name"] == "Interrupted"]
    assert stopped and all("SIGTERM" in s["error_message"] and "SIGTERM" in s["reason"] for s in stopped)
    assert not any(s["status"] in ("running", "pending") for s in ended["steps"])
    deadline = time.monotonic() + 10
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(children)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def _alive(pids: set[int]) -> set[int]:
    from lib.pipeline.procs import pid_alive

    return {p for p in pids if pid_alive(p)}
