"""Retention of the run archive: old or excess run folders leave RUNS_DIR (moved through fsspec or
pruned), the ledger keeps every run and points at the moved copies; `bi runs prune` and `--html`."""

from __future__ import annotations

import argparse
import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import nbformat
import pytest

from lib.config import reload_settings

TENANT = "demo"


@pytest.fixture
def runs_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TENANT_ID", TENANT)
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "none.yml"))
    monkeypatch.setenv("BI_CLOCK_NOW", "2026-04-30T12:00:00Z")
    for name in ("RUNS_RETENTION_DAYS", "RUNS_MAX_SIZE", "RUNS_ARCHIVE_URL"):
        monkeypatch.delenv(name, raising=False)
    reload_settings()
    yield tmp_path / "runs"
    reload_settings()


def _notebook(marker: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("stream", text=marker)])]
    return gzip.compress(nbformat.writes(nb).encode())


def _make_run(runs: Path, day: str, run_id: str, size: int = 1000) -> Path:
    from lib.pipeline import ledger

    folder = runs / day / run_id
    folder.mkdir(parents=True)
    nb = folder / "01_extract_chat.ipynb.gz"
    nb.write_bytes(_notebook(f"notebook of {run_id}"))
    (folder / "padding.bin").write_bytes(os.urandom(size))
    ledger.create_run(run_id, TENANT, "full", params={}, status="running", archive_dir=str(folder))
    ledger.put_steps(run_id, TENANT, [(1, "extract_chat", "extract")])
    ledger.update_step(run_id, TENANT, "extract_chat", status="success", notebook_path=str(nb))
    ledger.update_run(run_id, TENANT, status="success", finished_at=datetime.now(UTC))
    return folder


def test_parse_size() -> None:
    from lib.pipeline.retention import parse_size

    assert parse_size("500MB") == 500_000_000 and parse_size("2GB") == 2_000_000_000
    assert parse_size("1GiB") == 2**30 and parse_size("1.5G") == 1_500_000_000 and parse_size("123") == 123
    with pytest.raises(ValueError, match="RUNS_MAX_SIZE"):
        parse_size("lots")


def test_old_runs_move_to_object_storage_and_stay_readable(runs_env: Path, monkeypatch, capsys) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.cli import runs_main
    from lib.pipeline.render import notebook_html
    from lib.pipeline.retention import Policy, prune

    old = _make_run(runs_env, "2026-01-10", "20260110T000000Z-old001")
    recent = _make_run(runs_env, "2026-04-29", "20260429T000000Z-new001")
    target = "memory://bi-archive/runs"
    report = prune(runs_env, Policy(days=90, max_bytes=None, target=target))
    assert report.moved == ["20260110T000000Z-old001"] and not report.pruned and not report.errors
    assert not old.exists() and recent.exists() and not (runs_env / "2026-01-10").exists()
    run = ledger.get_run("20260110T000000Z-old001", TENANT).as_dict()
    url = f"{target}/2026-01-10/20260110T000000Z-old001"
    assert run["status"] == "success" and run["archive_state"] == "moved" and run["archive_location"] == url
    step = run["steps"][0]
    assert step["notebook_path"] == f"{url}/01_extract_chat.ipynb.gz"
    assert fsspec.filesystem("memory").exists(f"{url}/padding.bin".removeprefix("memory://"))
    assert "notebook of 20260110T000000Z-old001" in notebook_html(step["notebook_path"])
    out = runs_env.parent / "html"
    args = argparse.Namespace(action="show", run_id=run["run_id"], tenant=TENANT, limit=5, json=False, html=True,
                              step=None, out=str(out))  # fmt: skip
    assert runs_main(args) == 0
    assert "notebook of 20260110T000000Z-old001" in (out / "01_extract_chat.html").read_text()
    assert "run_id" not in capsys.readouterr().err


def test_size_cap_prunes_the_oldest_and_keeps_the_ledger(runs_env: Path, monkeypatch, capsys) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.cli import runs_main

    a = _make_run(runs_env, "2026-04-27", "20260427T000000Z-capa01", size=400_000)
    b = _make_run(runs_env, "2026-04-28", "20260428T000000Z-capb01", size=400_000)
    c = _make_run(runs_env, "2026-04-29", "20260429T000000Z-capc01", size=400_000)
    args = argparse.Namespace(action="prune", run_id=None, tenant=None, limit=5, json=False, html=False,
                              days=None, max_size="900KB", to=None, dry_run=True)  # fmt: skip
    assert runs_main(args) == 0 and a.exists()  # a dry run touches nothing
    assert "(dry run)" in capsys.readouterr().out
    args.dry_run = False
    assert runs_main(args) == 0
    assert not a.exists() and b.exists() and c.exists()
    gone = ledger.get_run("20260427T000000Z-capa01", TENANT).as_dict()
    assert (
        gone["status"] == "success"
        and gone["archive_state"] == "pruned"
        and gone["steps"][0]["status"] == "success"
    )
    assert "pruned  20260427T000000Z-capa01" in capsys.readouterr().out


def test_active_and_current_runs_are_never_pruned(runs_env: Path) -> None:
    from lib.pipeline import ledger
    from lib.pipeline.retention import Policy, prune

    live = _make_run(runs_env, "2025-12-01", "20251201T000000Z-live01")
    ledger.update_run("20251201T000000Z-live01", TENANT, status="running", pid=os.getpid())
    mine = _make_run(runs_env, "2025-12-02", "20251202T000000Z-mine01")
    from lib.pipeline.lock import TenantLock

    with TenantLock(TENANT):  # a live run holds the lock: it is not reaped, so it stays active
        report = prune(runs_env, Policy(days=30, max_bytes=None), keep={"20251202T000000Z-mine01"})
    assert live.exists() and mine.exists() and not report.pruned
