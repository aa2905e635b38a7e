"""The papermill runner: plan the steps, run them in worker processes, archive, keep the ledger.

`run_pipeline(RunOptions(...)) -> RunOutcome` is what `bi run` calls. Steps whose dependencies are
done run in parallel processes (at most one per core); each step is a notebook executed by papermill
on a kernel of its run, tenant and kind, emptied between steps (lib.pipeline.worker). A failed step
fails the run and skips its dependents; `resume` re-runs a run's failed and skipped steps as new
attempts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lib import clock
from lib.config import ConfigError, TenantConfig, get_settings, get_tenant
from lib.names import RUN_MODES, one_of
from lib.pipeline import archive, ledger, procs, skips
from lib.pipeline.graph import Step, all_steps, dependents, plan, restrict
from lib.pipeline.lock import RunLocked, TenantLock
from lib.pipeline.nbstep import fault_for
from lib.pipeline.progress import Progress
from lib.pipeline.scan import build_index, contains_secret, current_secrets, file_stamp, scan_tree

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
log = logging.getLogger(__name__)


class UsageError(ValueError):
    """Bad options (exit code 2)."""


@dataclass
class RunOptions:
    """What `bi run` was asked to do."""

    mode: str = "full"
    tenant: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    from_step: str | None = None
    only: str | None = None
    resume: str | None = None
    run_id: str | None = None
    full_refresh: bool = False
    progress: bool = True
    max_workers: int | None = None
    step_timeout_s: int | None = None
    prewarm: bool = True
    no_dbt: bool = False  # a batch's tenant run: the batch runs one dbt build for every tenant


@dataclass
class RunOutcome:
    """How a run ended."""

    run_id: str | None
    tenant_id: str | None
    status: str
    exit_code: int
    message: str
    archive_dir: Path | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    manifest_path: Path | None = None


def new_run_id(now: datetime | None = None) -> str:
    """`YYYYMMDDTHHMMSSZ-xxxxxx` (sortable, unique)."""
    now = now or clock.now()
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _check_dates(date_from: str | None, date_to: str | None) -> None:
    parsed = []
    for name, value in (("--date-from", date_from), ("--date-to", date_to)):
        try:
            parsed.append(date.fromisoformat(value) if value else None)
        except ValueError:
            raise UsageError(f"{name} must be YYYY-MM-DD, got {value!r}") from None
    if parsed[0] and parsed[1] and parsed[0] > parsed[1]:
        raise UsageError(f"invalid date range: --date-from {date_from} is after --date-to {date_to}")


def step_parameters(step: Step, tenant: TenantConfig, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The papermill parameters of one step (names of secret env vars only, never values)."""
    p: dict[str, Any] = {"tenant": tenant.id, "run_id": run_id}
    if step.kind == "extract":
        p.update(
            application_id=params.get("application_id"), date_from=params.get("date_from"),
            date_to=params.get("date_to"), mode=params.get("extract_mode") or "incremental",
            server_key_env=tenant.server_key_env,
        )  # fmt: skip
    elif step.kind in ("transform", "post"):
        p["full_refresh"] = bool(params.get("full_refresh"))
    elif step.kind == "dbt":
        p["select"] = params.get("dbt_select")
        p["exclude"] = params.get("dbt_exclude")
        p["full_refresh"] = bool(params.get("full_refresh"))
    elif step.kind == "report":
        p["week"] = params.get("week") or params.get("date_from")
    return p


def _worker_count(steps: list[Step], requested: int | None) -> int:
    cores = os.cpu_count() or 1
    return max(1, min(requested or cores, cores, len(steps)))


def _worker_start() -> str:
    """How the step workers start: forked from this process when that is safe (Linux, no other
    thread: a `bi run` process), so they inherit its imports (papermill, lib: ≈ 1.3 s of CPU a worker
    here); spawned (a fresh Python) inside a process with threads, e.g. a test or an app."""
    return "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"


def _noop() -> int:
    return os.getpid()


class _Run:
    """State of one run while it executes."""

    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.lock: TenantLock | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.prior: dict[str, ledger.StepRecord] = {}
        self.failed: list[str] = []
        self.decisions: dict[str, skips.Decision] = {}
        self.uptodate: set[str] = set()  # skipped because their inputs did not change (count as done)
        self.forced: set[str] = set()  # named by --only / --from / --resume: never skipped
        self.workers = 1
        self.scanned: dict[str, tuple[int, int]] = {}  # files a step's scan passed (scan.file_stamp)

    # -- setup -------------------------------------------------------------------------------------
    def prepare(self) -> None:
        opts = self.opts
        self.settings = get_settings()
        if opts.resume:
            run = ledger.get_run(opts.resume, opts.tenant, role="pipeline", reap=False)
            if run is None:
                raise UsageError(
                    f"no run {opts.resume!r} in the ledger"
                    + (f" for tenant {opts.tenant!r}" if opts.tenant else "")
                )
            self.tenant = get_tenant(run.tenant_id)
            self.run_id = run.run_id
            self.mode = run.mode
            self.params = dict(run.params or {})
            self.prior = {s.step: s for s in run.steps}
            known = {s.id: s for s in all_steps()}
            todo = [known[s.step] for s in run.steps if s.status != "success" and s.step in known]
            if not todo:
                raise UsageError(f"run {self.run_id} has no failed or skipped step to resume")
            self.steps = restrict(todo)
            self.forced = {s.id for s in self.steps}
            self.archive_dir = Path(run.archive_dir) if run.archive_dir else None
            self.started_at = run.started_at or clock.now()
            self.previous_ms = run.duration_ms or 0
        else:
            if opts.mode not in RUN_MODES:
                raise UsageError(f"--mode must be {one_of(RUN_MODES)}, got {opts.mode!r}")
            _check_dates(opts.date_from, opts.date_to)
            self.tenant = get_tenant(opts.tenant)
            self.mode = opts.mode
            try:
                self.steps = plan(opts.mode, from_step=opts.from_step, only=opts.only)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            if (opts.only or opts.from_step) and self.steps:
                self.forced = {self.steps[0].id}
            if opts.no_dbt:  # the marts (and the report on them) come after the batch's one dbt build
                self.steps = restrict([s for s in self.steps if s.kind not in ("dbt", "report")])
            elif opts.mode != "report" and not (opts.only or opts.from_step):
                from lib.report.schedule import add_weekly_report

                self.steps = add_weekly_report(self.steps, self.tenant)  # Mondays: the week's report
            self.started_at = clock.now()
            self.run_id = opts.run_id or new_run_id(self.started_at)
            self.params = {
                "mode": opts.mode, "tenant": self.tenant.id, "date_from": opts.date_from,
                "date_to": opts.date_to, "full_refresh": opts.full_refresh, "from_step": opts.from_step,
                "only": opts.only, "no_dbt": opts.no_dbt, "server_key_env": self.tenant.server_key_env,
                "application_ids": list(self.tenant.application_ids), "steps": [s.id for s in self.steps],
            }  # fmt: skip
            self.archive_dir = None
            self.previous_ms = 0
            if opts.run_id:  # launched by launch_run: its queued row holds the archive folder
                queued = ledger.get_run(opts.run_id, self.tenant.id, role="pipeline", reap=False)
                if queued and queued.status != "queued":
                    raise UsageError(f"run {opts.run_id} already exists ({queued.status}); use --resume")
                if queued and queued.archive_dir:
                    self.archive_dir = Path(queued.archive_dir)
        if self.archive_dir is None:
            self.archive_dir = archive.run_dir(self.settings.runs_path, self.started_at, self.run_id)

    def acquire(self) -> None:
        self.lock = TenantLock(self.tenant.id).acquire()

    def start_pool(self) -> None:
        """Start the workers now when the run has steps that always run (extracts), else at the
        first step that is not up to date (a run with nothing new starts no kernel at all)."""
        self.workers = _worker_count(self.steps, self.opts.max_workers)
        if any(s.kind == "extract" for s in self.steps):
            self.ensure_pool()

    def ensure_pool(self) -> ProcessPoolExecutor:
        if self.pool is not None:
            return self.pool
        n = self.workers
        from lib.pipeline import worker

        start = _worker_start()
        for stream in (sys.stdout, sys.stderr):  # a forked worker would print the unflushed rest again
            stream.flush()
        self.pool = ProcessPoolExecutor(
            max_workers=n, mp_context=multiprocessing.get_context(start), initializer=worker.init_worker,
            initargs=(self.opts.prewarm, self.steps[0].kind if self.steps else None, self.tenant.id, os.getpid(), start),
        )  # fmt: skip
        for _ in range(n):  # spawn the workers now: they boot while the ledger is written
            self.pool.submit(_noop)
        return self.pool

    def open_ledger(self) -> None:
        tid = self.tenant.id
        ledger.fail_abandoned(tid, keep=self.run_id)
        if not self.opts.resume:
            ledger.create_run(
                self.run_id, tid, self.mode, params=self.params, status="running",
                git_commit=archive.git_commit(), lib_version=archive.lib_version(),
                archive_dir=str(self.archive_dir), pid=os.getpid(),
            )  # fmt: skip
        ledger.update_run(
            self.run_id, tid, status="running", started_at=self.started_at, finished_at=None, error=None,
            pid=os.getpid(), archive_dir=str(self.archive_dir), mode=self.mode,
        )  # fmt: skip
        ledger.put_steps(self.run_id, tid, [(s.seq, s.id, s.kind) for s in self.steps])
        self.archive_dir.mkdir(parents=True, exist_ok=True)

    # -- execution ---------------------------------------------------------------------------------
    def _task(self, step: Step, prewarm_next: bool, next_kind: str | None = None):  # noqa: ANN202
        from lib.pipeline.worker import StepTask

        prev = self.prior.get(step.id)
        attempt = int(((prev and prev.metrics) or {}).get("attempt") or 0) + 1
        extra = self.decisions[step.id].params if step.id in self.decisions else {}
        return StepTask(
            step=step, run_id=self.run_id, attempt=attempt,
            parameters=step_parameters(step, self.tenant, self.run_id, {**self.params, **extra}),
            archive_dir=str(self.archive_dir), prewarm_next=prewarm_next and self.opts.prewarm,
            next_kind=next_kind, timeout_s=self.opts.step_timeout_s,
        )  # fmt: skip

    def _record(self, outcome: dict[str, Any]) -> None:
        for path in (outcome.get("notebook_path"), *(outcome.get("artifacts") or [])):
            stamp = file_stamp(path) if path else None
            if stamp is not None:  # the worker scanned it before writing it: the sweep need not again
                self.scanned[str(path)] = stamp
        prev = self.prior.get(outcome["step"])
        history = list(((prev and prev.metrics) or {}).get("attempts") or [])
        history.append(
            {
                k: outcome.get(k)
                for k in (
                    "attempt",
                    "status",
                    "started_at",
                    "finished_at",
                    "duration_ms",
                    "error_name",
                    "notebook_path",
                )
            }
        )
        metrics = {
            "attempt": outcome.get("attempt"), "calls": outcome.get("calls"),
            "warnings": outcome.get("warnings") or [], "errors": outcome.get("errors") or [],
            "result": outcome.get("result_metrics") or {}, "artifacts": outcome.get("artifacts") or [],
            "timings_ms": {**(outcome.get("timings_ms") or {}), "lib": outcome.get("lib_duration_ms")},
            "attempts": history, "kernel_reused": bool(outcome.get("kernel_reused")),
            "kernel_forked": bool(outcome.get("kernel_forked")), "worker_start": outcome.get("worker_start"),
        }  # fmt: skip
        if outcome.get("quarantined"):
            metrics["quarantined"] = outcome["quarantined"]
        ledger.update_step(
            self.run_id, self.tenant.id, outcome["step"], status=outcome["status"],
            started_at=outcome.get("started_at"), finished_at=outcome.get("finished_at"),
            duration_ms=outcome.get("duration_ms"), rows_in=outcome.get("rows_in"),
            rows_out=outcome.get("rows_out"), rejects=outcome.get("rejects"), metrics=metrics,
            error_name=outcome.get("error_name"), error_message=outcome.get("error_message"),
            error_cell=outcome.get("error_cell"), notebook_path=outcome.get("notebook_path"),
            html_path=outcome.get("html_path"),
        )  # fmt: skip

    def _decide(self, step: Step) -> skips.Decision:
        """Whether the step's inputs changed since its last success (never fatal: unsure -> run)."""
        try:
            decision = skips.decide(
                step,
                self.tenant,
                force=step.id in self.forced,
                full_refresh=bool(self.params.get("full_refresh")),
            )
        except Exception as exc:  # noqa: BLE001 - a watermark query failed: run the step
            log.warning(
                "could not tell whether %s is up to date (%s): running it", step.id, type(exc).__name__
            )
            decision = skips.Decision()
        self.decisions[step.id] = decision
        return decision

    def _skip(
        self, step_id: str, reason: str, status: dict[str, str], progress: Progress, *, uptodate: bool
    ) -> None:
        status[step_id] = "skipped"
        if uptodate:
            self.uptodate.add(step_id)
            now = clock.now()
            ledger.update_step(self.run_id, self.tenant.id, step_id, status="skipped", reason=reason,
                               started_at=now, finished_at=now, duration_ms=0)  # fmt: skip
        else:
            ledger.update_step(self.run_id, self.tenant.id, step_id, status="skipped", reason=reason)
        progress.skipped(step_id, reason, uptodate=uptodate)

    def execute(self, progress: Progress) -> dict[str, str]:
        status = {s.id: "pending" for s in self.steps}
        pending = {s.id: s for s in self.steps}
        running: dict[Future, Step] = {}
        failed_first: list[str] = []

        def satisfied(dep: str) -> bool:
            return status.get(dep) == "success" or dep in self.uptodate

        while pending or running:
            ready = sorted(
                (s for s in pending.values() if all(satisfied(d) for d in s.deps)), key=lambda s: s.seq
            )
            while ready and len(running) < self.workers:
                step = ready.pop(0)
                del pending[step.id]
                decision = self._decide(step)
                if decision.skip:
                    self._skip(step.id, decision.reason or "al día", status, progress, uptodate=True)
                    ready = sorted(
                        (s for s in pending.values() if all(satisfied(d) for d in s.deps)),
                        key=lambda s: s.seq,
                    )
                    continue
                future = None
                try:
                    pool = self.ensure_pool()
                    nxt = min(pending.values(), key=lambda s: s.seq, default=None)
                    task = self._task(step, prewarm_next=nxt is not None, next_kind=nxt.kind if nxt else None)
                    future = pool.submit(_run_task, task)
                except (BrokenProcessPool, RuntimeError) as exc:
                    self._finish_step(step, {"step": step.id, "status": "failed", "error_name": type(exc).__name__,
                                             "error_message": str(exc)}, status, pending, progress, failed_first)  # fmt: skip
                    continue
                running[future] = step
                status[step.id] = "running"
                ledger.update_step(self.run_id, self.tenant.id, step.id, status="running",
                                   started_at=clock.now())  # fmt: skip
                progress.started(step.id)
            if not running:
                if pending and any(all(satisfied(d) for d in s.deps) for s in pending.values()):
                    continue
                break
            done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            progress.tick()
            for future in done:
                step = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker fails its step, not the runner
                    outcome = {"step": step.id, "seq": step.seq, "status": "failed",
                               "error_name": type(exc).__name__, "error_message": str(exc) or type(exc).__name__}  # fmt: skip
                self._finish_step(step, outcome, status, pending, progress, failed_first)
        for sid in list(pending):  # unreachable (a dependency never succeeded)
            self._skip(sid, "un paso del que depende no terminó con éxito", status, progress, uptodate=False)
        self.failed = failed_first
        return status

    def _finish_step(self, step, outcome, status, pending, progress, failed_first) -> None:  # noqa: ANN001
        outcome.setdefault("attempt", 1)
        self._record(outcome)
        status[step.id] = outcome["status"]
        progress.finished(outcome)
        if outcome["status"] == "success" and step.id in self.decisions:
            try:
                skips.record(self.tenant.id, step.id, self.decisions[step.id], self.run_id)
            except Exception as exc:  # noqa: BLE001 - the next run redoes the step instead of skipping it
                log.warning("could not record the inputs of %s (%s)", step.id, type(exc).__name__)
        if outcome["status"] != "success":
            failed_first.append(
                f"{step.id}: {outcome.get('error_name')}: {outcome.get('error_message') or ''}"[:500]
            )
            for sid in sorted(dependents(step.id, self.steps)):
                if sid in pending:
                    del pending[sid]
                    self._skip(sid, f"depende de {step.id}, que falló", status, progress, uptodate=False)

    # -- end ---------------------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Scan every file of the run's folder (run.log, artifacts, manifests); quarantine hits."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        if self.archive_dir is None:
            return []
        moved = scan_tree(
            self.archive_dir, archive.quarantine_dir(self.archive_dir), build_index(current_secrets()),
            scanned=self.scanned,
        )  # fmt: skip
        if moved:
            self.failed.append(
                f"SecretLeak: a file of the run held a secret value; not archived: {'; '.join(moved)}"[:1000]
            )
        return moved

    def finish(
        self, status: dict[str, str], elapsed_ms: int, leaked: bool = False
    ) -> tuple[str, Path | None]:
        ok = all(v == "success" or k in self.uptodate for k, v in status.items()) and not leaked
        run_status = "success" if ok else "failed"
        error = None if ok else "; ".join(self.failed)[:2000] or "a step did not succeed"
        ledger.update_run(
            self.run_id, self.tenant.id, status=run_status, finished_at=clock.now(),
            duration_ms=self.previous_ms + elapsed_ms, error=error,
        )  # fmt: skip
        return run_status, self.write_manifest()

    def write_manifest(self) -> Path | None:
        run = ledger.get_run(self.run_id, self.tenant.id, role="pipeline", reap=False)
        if run is None:
            return None
        steps = []
        for s in run.steps:
            entry = s.as_dict()
            for key in ("notebook_path", "html_path"):
                if entry.get(key):
                    entry[key.replace("_path", "")] = Path(entry[key]).name
            steps.append(entry)
        facts = run.as_dict()
        manifest = {
            "run_id": run.run_id, "tenant_id": run.tenant_id, "mode": run.mode,
            "status": run.status, "parameters": run.params, "git_commit": run.git_commit,
            "lib_version": run.lib_version, "python": platform.python_version(),
            "executable": sys.executable, "started_at": facts["started_at"], "finished_at": facts["finished_at"],
            "duration_ms": run.duration_ms, "error": run.error, "archive_dir": run.archive_dir,
            "steps": steps,
        }  # fmt: skip
        import json

        if contains_secret(json.dumps(manifest, default=str), build_index(current_secrets())):
            return None  # never archive it; the ledger still holds the facts
        return archive.write_manifest(self.archive_dir, manifest)

    def stop_workers(self) -> None:
        """Stop the run's workers at once (each kills its kernels on SIGTERM): no step goes on."""
        if self.pool is None:
            return
        procs = list(getattr(self.pool, "_processes", {}).values())
        for proc in procs:
            try:
                proc.terminate()
            except (OSError, AttributeError):
                pass
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None


class RunInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error of the run's code
    """SIGTERM/SIGINT reached the runner: the run ends failed with the signal as its reason."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(self.signame)


@contextmanager
def _signals_end_the_run() -> Iterator[None]:
    """While steps run, SIGTERM and SIGINT raise RunInterrupted in the runner (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_task(task) -> dict[str, Any]:  # noqa: ANN001 - runs in the worker process
    from lib.pipeline.worker import execute_step

    return execute_step(task)


def run_pipeline(opts: RunOptions) -> RunOutcome:
    """Run (or resume) a pipeline run; never raises for step failures (see RunOutcome.exit_code)."""
    run = _Run(opts)
    try:
        run.prepare()
    except (UsageError, ConfigError) as exc:
        message = withhold_secrets(str(exc))
        if opts.run_id and opts.tenant and not opts.resume:
            _fail_queued(opts.run_id, opts.tenant, message)
        return RunOutcome(opts.run_id, opts.tenant, "failed", EXIT_USAGE, message)
    try:
        run.acquire()
    except RunLocked as exc:
        if opts.run_id and not opts.resume:  # the lock message names only the tenant
            _fail_queued(opts.run_id, run.tenant.id, str(exc))
        return RunOutcome(run.run_id, run.tenant.id, "failed", EXIT_LOCKED, str(exc))
    t0 = time.perf_counter()
    progress = Progress(len(run.steps), enabled=opts.progress)
    try:
        run.start_pool()
        run.open_ledger()
        progress.header(
            f"run {run.run_id} ({'resume, ' if opts.resume else ''}{run.mode}) tenant {run.tenant.id}: "
            f"{len(run.steps)} steps on {run.workers} worker(s); archive {run.archive_dir}"
        )
        drill = fault_for("run_log")  # BI_PIPELINE_FAULT=run_log=<text>: a library printing a secret
        if drill:
            print(drill, flush=True)
        try:
            with _signals_end_the_run():
                status = run.execute(progress)
        except BaseException as exc:
            reason = (
                f"interrumpida por {exc.signame}" if isinstance(exc, RunInterrupted)
                else f"runner interrupted: {type(exc).__name__}"
            )  # fmt: skip
            run.stop_workers()  # first: nothing may write after the run is marked ended
            ledger.update_run(
                run.run_id, run.tenant.id, status="failed", finished_at=clock.now(), error=reason
            )
            ledger.abort_steps(run.run_id, run.tenant.id, reason)
            if not isinstance(exc, RunInterrupted):
                raise
            progress.summary(f"run {run.run_id} FAILED: {reason}")
            return RunOutcome(run.run_id, run.tenant.id, "failed", 128 + exc.signum, reason, run.archive_dir)
        elapsed = int((time.perf_counter() - t0) * 1000)
        leaked = run.sweep()
        run_status, manifest = run.finish(status, elapsed, leaked=bool(leaked))
    finally:
        run.close()
    counts: dict[str, int] = {}
    for v in status.values():
        counts[v] = counts.get(v, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    message = (
        f"run {run.run_id} {run_status.upper()}: {parts} in {elapsed / 1000:.1f}s; archive {run.archive_dir}"
    )
    if procs.forked_by:  # not a new Python: forked by its batch's fork server (kernel_forkserver)
        message += f"; pid {os.getpid()} forked by the batch's fork server (pid {procs.forked_by})"
    if run_status != "success" and run.failed:
        message += f"; first failure: {run.failed[0][:200]}"
    progress.summary(message)
    if run.sweep() and run_status == "success":  # the summary itself is the last thing run.log gets
        run_status = "failed"
        ledger.update_run(run.run_id, run.tenant.id, status="failed", error="; ".join(run.failed)[:2000])
    _apply_retention(run, progress)
    final = ledger.get_run(run.run_id, run.tenant.id, role="pipeline", reap=False)
    return RunOutcome(
        run.run_id, run.tenant.id, run_status, EXIT_OK if run_status == "success" else EXIT_FAILED, message,
        run.archive_dir, [s.as_dict() for s in final.steps] if final else [], manifest,
    )  # fmt: skip


def _apply_retention(run: _Run, progress: Progress) -> None:
    """After each run: the retention policy (RUNS_RETENTION_DAYS, RUNS_MAX_SIZE, RUNS_ARCHIVE_URL)."""
    from lib.pipeline import retention

    try:
        report = retention.prune(run.settings.runs_path, keep={run.run_id})
    except Exception as exc:  # noqa: BLE001 - retention never fails a run
        log.warning("retention failed: %s: %s", type(exc).__name__, exc)
        return
    if report.moved or report.pruned or report.errors:
        progress.summary(report.summary())


def withhold_secrets(message: str) -> str:
    """`message`, or a placeholder when it holds a secret value (it goes to the ledger and the log)."""
    if contains_secret(message, build_index(current_secrets())):
        return "(message withheld: it contains a secret value)"
    return message


def _fail_queued(run_id: str, tenant_id: str, error: str) -> None:
    """A launched run that could not take the lock: its queued row ends as failed."""
    try:
        run = ledger.get_run(run_id, tenant_id, role="pipeline", reap=False)
        if run and run.status == "queued":
            ledger.update_run(run_id, tenant_id, status="failed", finished_at=clock.now(), error=error)
    except Exception:  # noqa: BLE001, S110 - the lock message is what matters
        pass
