"""Runs one step in a pool process: papermill on a kernel of the step's environment, then scan and
archive.

The runner submits `StepTask`s to a ProcessPoolExecutor whose initializer is `init_worker`; each task
returns a plain dict (`StepOutcome` fields) so nothing but data crosses the process boundary. The
worker belongs to one run (one tenant). Its kernels wait in `_idle` by environment (kind of step,
tenant): a booting spare for the next step, and the kernel of a step that succeeded, reset
(`kernel.reset`) for the next step of the same kind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import clock
from lib.pipeline import _fastimport

_fastimport.trim()

import nbformat  # noqa: E402
import papermill as pm  # noqa: E402
from papermill.exceptions import PapermillExecutionError  # noqa: E402

from lib.config import PROJECT_ROOT  # noqa: E402
from lib.pipeline import archive, kernel  # noqa: E402
from lib.pipeline.graph import Step  # noqa: E402
from lib.pipeline.papermill_engine import ENGINE_NAME  # noqa: E402
from lib.pipeline.procs import die_with_parent, watch_parent  # noqa: E402
from lib.pipeline.scan import (  # noqa: E402
    QuarantineUnavailable,
    build_index,
    contains_secret,
    current_secrets,
    quarantine,
)

_idle: dict[tuple[str, str | None], Any] = {}  # kernels waiting for a step, by (environment, tenant)
_current = None  # the kernel running this worker's step
MAX_IDLE = 2  # the current kind's kernel and the next kind's spare
_start = "spawn"  # how this worker started (init_worker): forked from its runner, or spawned


@dataclass
class StepTask:
    """What a worker needs to run one step."""

    step: Step
    run_id: str
    attempt: int
    parameters: dict[str, Any]
    archive_dir: str
    prewarm_next: bool = True
    next_kind: str | None = None  # kind of the step this worker's spare kernel will most likely serve
    timeout_s: int | None = None
    notebooks_root: str = str(PROJECT_ROOT)
    extra: dict[str, Any] = field(default_factory=dict)


def init_worker(
    prewarm: bool = True,
    kind: str | None = None,
    tenant: str | None = None,
    runner_pid: int | None = None,
    start: str = "spawn",
) -> None:
    """Pool initializer: start a spare kernel (for a `kind` step of `tenant`) at once so the first step
    finds it booted. The worker dies with the runner (SIGKILL included) and stops its kernels on SIGTERM;
    a runner that died while this worker was still importing means exit at once. A forked worker
    (`start`) forgets the runner's database connections without closing them."""
    import multiprocessing.util

    global _start
    _start = start
    die_with_parent()
    if runner_pid is not None and os.getppid() != runner_pid:
        os._exit(1)
    if start == "fork":
        from lib.db.engine import dispose_engines

        dispose_engines(close=False)
    watch_parent(lambda: _on_sigterm(signal.SIGTERM, None))
    multiprocessing.util.Finalize(None, _drop_idle, exitpriority=10)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the runner decides
    if prewarm:
        _park(kernel.start_kernel(kind=kind, tenant=tenant))


def _drop_idle() -> None:
    while _idle:
        kernel.stop_kernel(_idle.pop(next(iter(_idle))))


def _on_sigterm(_signum: int, _frame: object) -> None:
    """The runner is stopping the run: kill this worker's kernels (no step goes on writing), exit."""
    for km in (_current, *_idle.values()):
        try:
            if km is not None and km.has_kernel:  # its own session: the group holds dbt too
                os.killpg(km.provisioner.pgid or km.provisioner.pid, signal.SIGKILL)
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
    os._exit(143)


def _park(km) -> None:  # noqa: ANN001 - AsyncKernelManager
    """Keep a kernel for a later step of its environment (one per environment, MAX_IDLE in all)."""
    env = km.bi_env
    kernel.stop_kernel(_idle.pop(env, None))
    while len(_idle) >= MAX_IDLE:
        kernel.stop_kernel(_idle.pop(next(iter(_idle))))  # the longest idle
    _idle[env] = km


def _take_kernel(kind: str | None = None, tenant: str | None = None):  # noqa: ANN202 - AsyncKernelManager
    """An idle kernel of the step's environment (same kind of env, same tenant), else a new one."""
    km = _idle.pop(kernel.env_key(kind, tenant), None)
    if km is not None and not km.has_kernel:
        kernel.stop_kernel(km)
        km = None
    reused = km is not None and getattr(km, "bi_steps", 0) > 0
    return (km or kernel.start_kernel(kind=kind, tenant=tenant)), reused


def _prewarm(kind: str | None, tenant: str | None, current: tuple[str, str | None]) -> None:
    """Boot a kernel for the next step while this one runs, unless one of its environment will be
    free: idle already, or the current step's own (reused when the step succeeds)."""
    env = kernel.env_key(kind, tenant)
    if env != current and env not in _idle:
        _park(kernel.start_kernel(kind=kind, tenant=tenant))


def source_cell_index(nb: nbformat.NotebookNode, executed_index: int) -> int:
    """Index in the committed notebook of the executed notebook's cell (papermill's cells removed)."""
    added = 0
    for cell in nb.cells[:executed_index]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            added += 1
    return executed_index - added


def _error_from(exc: PapermillExecutionError, staged: Path) -> tuple[str, str, int | None]:
    cell = exc.cell_index
    try:
        nb = nbformat.read(staged, as_version=4)
        failing = [
            i for i, c in enumerate(nb.cells)
            if any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ]  # fmt: skip
        cell = source_cell_index(nb, failing[0]) if failing else source_cell_index(nb, cell)
    except Exception:  # noqa: BLE001, S110 - keep papermill's index
        pass
    message = (exc.evalue or "").strip() or exc.ename
    return exc.ename, message, cell


KERNEL_READY_TIMEOUT_S = 45  # a kernel boots in ~1-3 s here, even on a loaded machine


def _ready(km) -> bool:  # noqa: ANN001 - AsyncKernelManager
    """True when the kernel answers within KERNEL_READY_TIMEOUT_S."""
    try:
        kernel.wait_ready(km, timeout_s=KERNEL_READY_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - dead, hung or never started: the caller replaces it
        return False
    return True


def execute_step(task: StepTask) -> dict[str, Any]:
    """Run the step's notebook and archive it; return the outcome (status, timings, metrics, error)."""
    step = task.step
    started = clock.now()
    t0 = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f"bi-{step.id}-"))
    staged = staging / "notebook.ipynb"
    params = dict(task.parameters)
    params["result_path"] = str(staging / "result.json")
    if step.kind in ("dbt", "report"):  # artifacts archived with the run (run_results.json, the report)
        params["run_dir"] = str(staging / "artifacts")
    out: dict[str, Any] = {"step": step.id, "seq": step.seq, "kind": step.kind, "status": "success",
                           "attempt": task.attempt, "started_at": started.isoformat(), "error_name": None,
                           "error_message": None, "error_cell": None}  # fmt: skip
    global _current
    tenant = task.parameters.get("tenant")
    km, out["kernel_reused"] = _take_kernel(step.kind, tenant)
    _current = km
    if task.prewarm_next:  # the next step's kernel boots while this step runs
        _prewarm(task.next_kind or step.kind, tenant, km.bi_env)
    # A reused kernel answered its reset moments ago, on the client the step runs on (kernel.client):
    # asking again would cost a round trip and IOPub's settling wait. A booting one must answer first.
    if not (out["kernel_reused"] and kernel.is_alive(km)) and not _ready(km):
        # A kernel that never answered (seen once under load, holding a step for minutes): replace it
        # once; if the fresh one fails too, papermill reports the step as failed.
        kernel.stop_kernel(km)
        km = _current = kernel.start_kernel(kind=step.kind, tenant=tenant)
        out["kernel_restarted"] = True
        _ready(km)
    out["kernel_forked"], out["worker_start"] = kernel.is_forked(km), _start
    t_kernel = time.perf_counter()
    try:
        pm.execute_notebook(
            str(Path(task.notebooks_root) / step.notebook), str(staged), parameters=params,
            cwd=str(PROJECT_ROOT), progress_bar=False, km=km, kc=kernel.client(km), engine_name=ENGINE_NAME,
            kernel_name=kernel.KERNEL_NAME,
            execution_timeout=task.timeout_s, request_save_on_cell_execute=False,
        )  # fmt: skip
    except PapermillExecutionError as exc:
        out["status"] = "failed"
        out["error_name"], out["error_message"], out["error_cell"] = _error_from(exc, staged)
    except Exception as exc:  # noqa: BLE001 - a dead kernel, a timeout, a missing notebook: the step fails
        out["status"] = "failed"
        out["error_name"], out["error_message"] = type(exc).__name__, str(exc) or type(exc).__name__
    finally:
        _current = None
        if out["status"] == "success" and kernel.reset(km):
            km.bi_steps = getattr(km, "bi_steps", 0) + 1
            _park(km)
        else:  # a failed step's kernel may hold anything: never reused
            kernel.stop_kernel(km)
    t_exec = time.perf_counter()
    try:
        _archive(task, staging, staged, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    t_end = time.perf_counter()
    out["finished_at"] = clock.now().isoformat()
    out["duration_ms"] = int((t_end - t0) * 1000)
    out["timings_ms"] = {
        "kernel_wait": int((t_kernel - t0) * 1000),
        "execute": int((t_exec - t_kernel) * 1000),
        "archive": int((t_end - t_exec) * 1000),
    }
    return out


def _quarantine(data: bytes, folder: Path, name: str) -> str:
    """Quarantine a leaking output; the error text instead when the folder is not writable."""
    try:
        return f"quarantined: {quarantine(data, archive.quarantine_dir(folder), name)}"
    except QuarantineUnavailable as exc:
        return str(exc)


def _archive(task: StepTask, staging: Path, staged: Path, out: dict[str, Any]) -> None:
    """Scan every output for secrets, then write the notebook (gzipped) and artifacts into the archive."""
    step, folder = task.step, Path(task.archive_dir)
    secrets = build_index(current_secrets())
    attempt = archive.free_attempt(folder, step.stem, task.attempt)
    stem = archive.attempt_stem(step.stem, attempt)
    out["attempt"] = attempt
    result_raw = (staging / "result.json").read_bytes() if (staging / "result.json").exists() else b""
    nb_raw = staged.read_bytes() if staged.exists() else b""
    leaks: list[str] = []
    if nb_raw and contains_secret(nb_raw, secrets):
        leaks.append(_quarantine(nb_raw, folder, f"{stem}.ipynb"))
        nb_raw = b""
    if result_raw and contains_secret(result_raw, secrets):
        leaks.append(_quarantine(result_raw, folder, f"{stem}.result.json"))
        result_raw = b""
    if out["error_message"] and contains_secret(out["error_message"], secrets):
        out["error_message"] = "(message withheld: it contains a secret value)"
    if nb_raw:  # compressed (~2 KB a step); its HTML is rendered when someone opens it
        path = folder / f"{stem}{archive.NOTEBOOK_SUFFIX}"
        out["notebook_path"] = str(archive.write_once(path, archive.gzipped(nb_raw)))
    artifacts = []
    art_dir = staging / "artifacts"
    if art_dir.is_dir():
        for f in sorted(p for p in art_dir.rglob("*") if p.is_file()):
            data = f.read_bytes()
            name = f"{stem}.{f.name}"
            if contains_secret(data, secrets):
                leaks.append(_quarantine(data, folder, name))
            else:
                artifacts.append(str(archive.write_once(folder / f"{name}.gz", archive.gzipped(data))))
    out["artifacts"] = artifacts
    if result_raw:
        result = json.loads(result_raw)
        out.update(
            rows_in=result.get("rows_in"), rows_out=result.get("rows_out"), rejects=result.get("rejects"),
            calls=result.get("calls"), result_metrics=result.get("metrics") or {},
            warnings=(result.get("warnings") or [])[:20], errors=(result.get("errors") or [])[:20],
            lib_duration_ms=int(float(result.get("duration_s") or 0) * 1000),
        )  # fmt: skip
    if leaks:
        first_error = f" after {out['error_name']}" if out["status"] == "failed" else ""
        out["status"] = "failed"
        out["error_name"] = "SecretLeak"
        out["error_message"] = (
            f"step {step.id}{first_error}: an output contains a secret value; not archived; {'; '.join(leaks)}"
        )
        out["quarantined"] = leaks
