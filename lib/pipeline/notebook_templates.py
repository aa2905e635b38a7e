"""Templates of the step notebooks: every notebook under notebooks/extract and notebooks/transform
is generated from here (`python -m lib.pipeline.make_notebooks`), so they all look the same.

Cells: a title, the `parameters` cell, one call into lib, the summary table, the failure check.
Notebooks are written without outputs or execution counts.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from lib.config import PROJECT_ROOT
from lib.pipeline.graph import Step, all_steps

ENTRY_POINTS = {
    "extract": "lib.extract.run_extractor",
    "transform": "lib.transform.run_transform",
    "post": "lib.transform.run_transform",
    "dbt": "lib.dbt_runner.run_dbt",
}
TITLES = {"extract": "Extract", "transform": "Transform", "post": "Post-transform", "dbt": "dbt"}

PARAMETERS = {
    "extract": [
        ("tenant", "None", "None -> TENANT_ID (or the only tenant of tenants.yml)"),
        ("application_id", "None", "None -> the tenant's application ids"),
        ("date_from", "None", '"YYYY-MM-DD"; None -> incremental, from sync_state'),
        ("date_to", "None", '"YYYY-MM-DD"; None -> today'),
        ("run_id", "None", "None -> a new id"),
        ("mode", '"incremental"', "extraction mode passed to run_extractor"),
        (
            "server_key_env",
            '"INDIGITALL_SERVER_KEY"',
            "NAME of the env var holding the ServerKey (never the value)",
        ),
        ("result_path", "None", "where the runner collects the StepResult (JSON); None -> not written"),
    ],
    "transform": [
        ("tenant", "None", "None -> TENANT_ID"),
        ("run_id", "None", "None -> a new id"),
        ("full_refresh", "False", "True -> rebuild from all raw rows"),
        ("result_path", "None", "where the runner collects the StepResult (JSON); None -> not written"),
    ],
    "dbt": [
        ("tenant", "None", "None -> TENANT_ID"),
        ("run_id", "None", "the pipeline run id, if any"),
        ("select", "None", 'dbt node selection, e.g. "marts"; None -> everything'),
        ("exclude", "None", 'nodes left out, e.g. "resource_type:unit_test"; None -> none'),
        ("full_refresh", "False", "True -> rebuild incremental models from scratch"),
        ("run_dir", "None", "folder that receives dbt's run_results.json; None -> not archived"),
        ("result_path", "None", "where the runner collects the StepResult (JSON); None -> not written"),
    ],
}
PARAMETERS["post"] = PARAMETERS["transform"]

CALL_ARGS = {
    "extract": "tenant=tenant, application_id=application_id, date_from=date_from, date_to=date_to,\n"
    "    run_id=run_id, mode=mode, server_key_env=server_key_env, result_path=result_path,",
    "transform": "tenant=tenant, run_id=run_id, full_refresh=full_refresh, result_path=result_path,",
    "dbt": "tenant=tenant, run_id=run_id, select=select, exclude=exclude, full_refresh=full_refresh,\n"
    "    run_dir=run_dir, result_path=result_path,",
}
CALL_ARGS["post"] = CALL_ARGS["transform"]


def _parameters_source(kind: str) -> str:
    rows = PARAMETERS[kind]
    width = max(len(f"{n} = {v}") for n, v, _ in rows)
    return "\n".join(f"{f'{n} = {v}':<{width}}  # {c}" for n, v, c in rows)


def _intro(step: Step) -> str:
    entry = ENTRY_POINTS[step.kind]
    what = {
        "extract": "pulls this tenant's data from the Indigitall API into `raw.*` (append-only) "
        "and updates `public.sync_state`",
        "transform": "upserts the structured table from the latest raw rows (set-based SQL in `lib.transform`)",
        "post": "recomputes aggregates once every transform is done",
        "dbt": "runs `dbt build` (staging -> intermediate -> marts) into the `analytics` schema",
    }[step.kind]
    return (
        f"# {step.seq:02d} · {TITLES[step.kind]}: `{step.name}`\n\n"
        f"Step `{step.id}` of the pipeline: {what}. "
        f'It calls `{entry}("{step.name}", …)` through `lib.pipeline.nbstep.run_step`.\n\n'
        "Run it by hand against the configured database (`.env` / environment): the defaults below work "
        "as they are. The runner (`bi run`) injects its own values after the `parameters` cell; secrets "
        "reach the kernel only through environment variables, whose *names* are parameters."
    )


def build_notebook(step: Step) -> nbformat.NotebookNode:
    """The notebook of one step (no outputs, no execution counts, stable cell ids)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    params = nbformat.v4.new_code_cell(_parameters_source(step.kind), id="parameters")
    params.metadata["tags"] = ["parameters"]
    call = (
        "from lib.pipeline.nbstep import run_step\n\n"
        f'result = run_step(\n    "{step.kind}", "{step.name}",\n    {CALL_ARGS[step.kind]}\n)'
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(_intro(step), id="title"),
        params,
        nbformat.v4.new_code_cell(call, id="call"),
        nbformat.v4.new_code_cell("result.summary_frame()", id="summary"),
        nbformat.v4.new_code_cell("result.raise_for_failure();", id="check"),
    ]
    return nb


def render(step: Step) -> str:
    """The notebook's file content."""
    return nbformat.writes(build_notebook(step)) + "\n"


def expected_notebooks(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Path -> content of every generated notebook."""
    return {root / s.notebook: render(s) for s in all_steps()}


def write_notebooks(root: Path = PROJECT_ROOT, *, prune: bool = True) -> list[Path]:
    """(Re)write every notebook whose content differs; remove stale generated ones. Returns changes."""
    expected = expected_notebooks(root)
    changed = []
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    if prune:
        for folder in ("extract", "transform"):
            for path in sorted((root / "notebooks" / folder).glob("[0-9][0-9]_*.ipynb")):
                if path not in expected:
                    path.unlink()
                    changed.append(path)
    return changed
