"""The committed step notebooks: generated from the templates, output-free, runnable as they are."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from lib.config import PROJECT_ROOT, reload_settings
from lib.pipeline.graph import all_steps
from lib.pipeline.notebook_templates import expected_notebooks


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    """This module loads tenants through the pipeline: its own database, not the session's."""
    return module_db_url


SERVER_KEY = "nb-test-key-0b9e44d1"


def test_committed_notebooks_equal_generated() -> None:
    expected = expected_notebooks()
    for path, content in expected.items():
        assert path.exists(), f"missing {path}; run python -m lib.pipeline.make_notebooks"
        assert path.read_text(encoding="utf-8") == content, f"{path} differs from its template"
    on_disk = {p for d in ("extract", "transform") for p in (PROJECT_ROOT / "notebooks" / d).glob("*.ipynb")}
    assert on_disk == set(expected)


@pytest.mark.parametrize("step", all_steps(), ids=lambda s: s.id)
def test_notebook_is_output_free_and_thin(step) -> None:
    nb = nbformat.read(PROJECT_ROOT / step.notebook, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert (
        len(params) == 1 and "tenant = None" in params[0].source and "result_path = None" in params[0].source
    )
    calls = [c for c in code if "lib." in c.source]
    assert len(calls) == 1 and f'"{step.kind}", "{step.name}"' in calls[0].source
    assert code[-1].source.startswith("result.raise_for_failure()")
    assert "result.summary_frame()" in code[-2].source
    if step.kind == "extract":
        assert 'server_key_env = "INDIGITALL_SERVER_KEY"' in params[0].source
    assert nb.metadata.kernelspec.name == "python3"


@pytest.fixture(scope="module")
def notebook_env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from lib.simulator import start_in_thread

    scratch = tmp_path_factory.mktemp("nb")
    sim = start_in_thread(port=0, server_key=SERVER_KEY)
    env = {"HOME": str(scratch), "TENANT_ID": "demo", "INDIGITALL_APP_ID": "100274",
           "INDIGITALL_SERVER_KEY": SERVER_KEY, "INDIGITALL_BASE_URL": sim.url,
           "TENANTS_FILE": str(scratch / "no-tenants.yml"), "EXTRACT_BACKFILL_DAYS": "7"}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("BI_PIPELINE_FAULT", raising=False)
        reload_settings()
        yield
    reload_settings()
    sim.stop()


@pytest.mark.slow
def test_every_notebook_runs_with_its_default_parameters(notebook_env: None, tmp_path: Path) -> None:
    """Like an analyst in JupyterLab: no injected parameters, the configured database, in step order."""
    from lib.pipeline import _fastimport, kernel

    _fastimport.trim()
    import papermill as pm

    steps = all_steps()
    km = kernel.start_kernel(kind=steps[0].kind)  # each kind of step gets its own environment
    for i, step in enumerate(steps):
        nxt = kernel.start_kernel(kind=steps[i + 1].kind) if i + 1 < len(steps) else None  # boots meanwhile
        out = tmp_path / step.notebook.name
        try:
            pm.execute_notebook(str(PROJECT_ROOT / step.notebook), str(out), cwd=str(PROJECT_ROOT),
                                progress_bar=False, km=km, kernel_name=kernel.KERNEL_NAME)  # fmt: skip
        finally:
            kernel.stop_kernel(km)
            km = nxt
        nb = json.loads(out.read_text())
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], step.id
        summary = next(c for c in nb["cells"] if c.get("id") == "summary")
        assert "text/html" in summary["outputs"][0]["data"], step.id  # the summary table
        assert SERVER_KEY not in out.read_text()
    assert not list(PROJECT_ROOT.glob("notebooks/**/result*.json"))
