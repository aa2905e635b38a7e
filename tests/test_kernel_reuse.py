"""Step kernels are reused within a worker: one per (kind of environment, tenant), emptied between
steps, never across tenants or kinds, never after a failed step (real kernels, real papermill)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from lib.config import reload_settings
from lib.pipeline import worker
from lib.pipeline.graph import Step

KEYS = {"KEY_REUSE_A": "reuse-key-of-a-5f1e", "KEY_REUSE_B": "reuse-key-of-b-8c2d"}

# What each notebook reports: its kernel's pid, the names a previous step left behind, its own
# execution count, and which tenant keys its environment holds. It then leaves a name of its own.
PROBE = (
    "import json as _j, os as _o\n"
    "print('PROBE ' + _j.dumps({'pid': _o.getpid(), 'tenant': tenant,\n"
    "    'leftover': sorted(k for k in globals() if k.startswith('mark_')),\n"
    "    'count': get_ipython().execution_count,\n"
    "    'keys': sorted(k for k in _o.environ if k.startswith('KEY_REUSE_'))}))\n"
    "mark_left_by_this_step = 1\n"
)


def _notebook(path: Path, fail: bool) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(kernelspec={"name": "python3", "language": "python", "display_name": "Python 3"},
                       language_info={"name": "python"})  # fmt: skip
    params = nbformat.v4.new_code_cell(
        "tenant = None\nrun_id = None\nresult_path = None\nfull_refresh = False"
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(PROBE)]
    if fail:
        nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('this step fails')"))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def steps_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "tenants.yml").write_text(
        "tenants:\n  - {id: coop_a, server_key_env: KEY_REUSE_A}\n  - {id: coop_b, server_key_env: KEY_REUSE_B}\n"
    )
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "tenants.yml"))
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    yield tmp_path
    worker._drop_idle()
    reload_settings()


def _step(root: Path, seq: int, kind: str, name: str, tenant: str, fail: bool = False) -> dict:
    step = Step(seq, kind, name)
    _notebook(root / step.notebook, fail)
    task = worker.StepTask(
        step=step, run_id="reuse-run", attempt=1, parameters={"tenant": tenant, "run_id": "reuse-run"},
        archive_dir=str(root / "archive"), prewarm_next=False, notebooks_root=str(root),
    )  # fmt: skip
    out = worker.execute_step(task)
    assert out.get("notebook_path"), (out["error_name"], out["error_message"])
    nb = nbformat.reads(gzip.decompress(Path(out["notebook_path"]).read_bytes()).decode(), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    probe = json.loads(text.split("PROBE ", 1)[1].splitlines()[0])
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    return {**out, "probe": probe, "first_count": first_code.execution_count}


def test_a_kernel_serves_its_tenant_and_kind_only_and_each_notebook_starts_empty(steps_root: Path) -> None:
    a1 = _step(steps_root, 11, "transform", "one", "coop_a")
    a2 = _step(steps_root, 12, "transform", "two", "coop_a")
    a3 = _step(steps_root, 21, "post", "three", "coop_a")  # post steps share the transform environment
    assert a1["status"] == a2["status"] == a3["status"] == "success"
    assert not a1["kernel_reused"] and a2["kernel_reused"] and a3["kernel_reused"]
    assert a1["probe"]["pid"] == a2["probe"]["pid"] == a3["probe"]["pid"]
    for later in (a2, a3):  # nothing of the step before, counts from 1, as on a fresh kernel
        assert later["probe"]["leftover"] == []
        assert later["first_count"] == 1
        assert later["probe"]["tenant"] == "coop_a"

    ext = _step(steps_root, 2, "extract", "chat", "coop_a")  # another environment: its own kernel
    assert ext["probe"]["pid"] != a1["probe"]["pid"] and not ext["kernel_reused"]
    assert ext["probe"]["keys"] == ["KEY_REUSE_A"]
    ext_b = _step(steps_root, 3, "extract", "chat", "coop_b")  # another tenant: never that kernel
    assert ext_b["probe"]["pid"] not in (ext["probe"]["pid"], a1["probe"]["pid"])
    assert ext_b["probe"]["keys"] == ["KEY_REUSE_B"] and not ext_b["kernel_reused"]
    b1 = _step(steps_root, 11, "transform", "one_b", "coop_b")
    assert b1["probe"]["pid"] != a1["probe"]["pid"] and b1["probe"]["leftover"] == []

    bad = _step(steps_root, 13, "transform", "bad", "coop_b", fail=True)
    assert bad["status"] == "failed" and bad["probe"]["pid"] == b1["probe"]["pid"]
    after = _step(steps_root, 14, "transform", "after", "coop_b")  # a failed step's kernel is gone
    assert after["status"] == "success" and not after["kernel_reused"]
    assert after["probe"]["pid"] != bad["probe"]["pid"]
    assert len(worker._idle) <= worker.MAX_IDLE
