"""Batches: one run over many tenants (`bi run --all-tenants`, `"tenant": "*"` or a list on the API).

Each tenant gets its own `bi run` process (its own key, rate limit, sync state, lock and ledger run,
tagged with the batch id) without the dbt step; at most `BI_BATCH_CONCURRENCY` (default 4) run at
once, sharing the cores (`workers_per_run`), and one tenant's failure never stops another. Then
ONE `dbt build` runs for the batch. The batch row (`ops.pipeline_batches`) records the tenants, each one's run and status, the dbt status
and which tenants failed (with each one's message); a tenant whose run is already in progress is
`skipped` with the reason. One batch runs at a time (`lock.BatchLock`): a second launch gets
`BatchLocked` (the API's 409). A transform-only batch does not start a tenant whose transforms are all
up to date (`uptodate`, no process, no kernel), and its dbt build is decided per tenant like a run's
(`skips`): nothing changed anywhere → skipped; otherwise the union of the tenants' selections, or
everything when one tenant's build is due.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from lib.pipeline.launch import QUEUED_GRACE_S  # a queued batch younger than this is starting, as a run

if TYPE_CHECKING:
    from lib.dbt_warm import WarmDbt
    from lib.pipeline import ledger

BATCH_CONCURRENCY = 4


class TenantSelectionError(ValueError):
    """A `tenant` field / option that names no configured tenant (message safe to return)."""


@dataclass(frozen=True)
class TenantSelection:
    """Which tenants a trigger asked for: one (the single-tenant contract) or a batch."""

    tenants: tuple[str, ...]
    batch: bool

    @property
    def tenant(self) -> str:
        return self.tenants[0]


def select_tenants(value: object, known: Sequence[str], default: str | None = None) -> TenantSelection:
    """`None` → the default tenant; a string → that tenant; `"*"` → every configured tenant (a batch);
    a list of ids → those tenants, in configuration order (a batch, even of one)."""
    if value is None:
        value = default if default is not None else (known[0] if known else None)
        if value is None:
            raise TenantSelectionError("no tenant configured")
    if value == "*":
        if not known:
            raise TenantSelectionError("no tenant configured")
        return TenantSelection(tuple(known), True)
    if isinstance(value, str):
        if not value:
            raise TenantSelectionError('tenant must be a non-empty string, "*" or a list of tenant ids')
        if value not in known:
            raise TenantSelectionError(f"unknown tenant {value!r}")
        return TenantSelection((value,), False)
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v for v in value):
            raise TenantSelectionError("tenant list must hold one or more tenant ids (strings)")
        unknown = sorted({v for v in value if v not in known})
        if unknown:
            raise TenantSelectionError(f"unknown tenant(s): {', '.join(map(repr, unknown))}")
        chosen = set(value)
        return TenantSelection(tuple(t for t in known if t in chosen), True)
    raise TenantSelectionError('tenant must be a string, "*" or a list of tenant ids')


def concurrency(default: int = BATCH_CONCURRENCY) -> int:
    """BI_BATCH_CONCURRENCY: tenant runs in flight at once (≥ 1)."""
    try:
        return max(1, int(os.environ.get("BI_BATCH_CONCURRENCY", default)))
    except ValueError:
        return default


def workers_per_run(in_flight: int) -> int:
    """The workers each of a batch's tenant runs gets: the cores shared by the runs in flight (≥ 1).
    More would only add processes and kernels competing for the same cores."""
    return max(1, (os.cpu_count() or 1) // max(1, in_flight))


# -- the batch ledger -------------------------------------------------------------------------------
@dataclass
class BatchOutcome:
    """How a batch ended: per tenant {run_id, status, exit_code, message}; the dbt build's status."""

    batch_id: str
    mode: str
    status: str = "running"
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    dbt_status: str | None = None
    error: str | None = None
    dbt_duration_ms: int | None = None  # the batch's one build, when it ran
    dbt_metrics: dict[str, Any] | None = None  # its node counts and slowest nodes

    @property
    def failed_tenants(self) -> list[str]:
        return [t for t, r in self.tenants.items() if r.get("status") == "failed"]

    @property
    def skipped_tenants(self) -> list[str]:
        return [t for t, r in self.tenants.items() if r.get("status") == "skipped"]

    @property
    def uptodate_tenants(self) -> list[str]:
        return [t for t, r in self.tenants.items() if r.get("status") == "uptodate"]

    locked: bool = False  # another batch held the batch lock: this one ran nothing

    @property
    def exit_code(self) -> int:
        """0 every tenant ran (or was up to date, or skipped: already running) and dbt succeeded;
        3 another batch was in progress; 1 otherwise."""
        if self.locked:
            return 3
        return 0 if self.status == "success" else 1

    def document(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "mode": self.mode,
            "status": self.status,
            "dbt_status": self.dbt_status,
            "failed_tenants": self.failed_tenants,
            "skipped_tenants": self.skipped_tenants,
            "uptodate_tenants": self.uptodate_tenants,
            "tenants": self.tenants,
            "error": self.error,
        }


LAUNCH_KEY = (0x0B1_0004, 1)  # "bi batch launch": held while one launch checks and queues
_IN_FLIGHT = text(
    "SELECT batch_id FROM ops.pipeline_batches WHERE status = 'queued' "
    "AND created_at > now() - make_interval(secs => :grace) ORDER BY created_at DESC LIMIT 1"
)
_NEWEST_ACTIVE = text(
    "SELECT batch_id FROM ops.pipeline_batches WHERE status IN ('queued', 'running') "
    "ORDER BY created_at DESC LIMIT 1"
)


def queue_batch(batch_id: str, mode: str, tenants: Iterable[str], url: str | None = None) -> bool:
    """The queued batch row, as the app login (the API) through `ops.queue_pipeline_batch`.

    Raises BatchLocked while a batch holds the batch lock or another launch's row is still starting;
    concurrent launches are serialised by a transaction-level advisory lock."""
    from lib.db import get_engine
    from lib.pipeline.lock import BatchLocked, batch_locked

    with get_engine("app", url).begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": LAUNCH_KEY[0], "k": LAUNCH_KEY[1]})
        if batch_locked(url):
            raise BatchLocked(conn.execute(_NEWEST_ACTIVE).scalar(), "its batch lock is held")
        starting = conn.execute(_IN_FLIGHT, {"grace": QUEUED_GRACE_S}).scalar()
        if starting is not None:
            raise BatchLocked(starting, "it is queued")
        return bool(
            conn.execute(
                text("SELECT ops.queue_pipeline_batch(:b, :m, CAST(:t AS jsonb))"),
                {"b": batch_id, "m": mode, "t": json.dumps(list(tenants))},
            ).scalar()
        )


_UPSERT_BATCH = text(
    "INSERT INTO ops.pipeline_batches (batch_id, mode, tenants, status) "
    "VALUES (:b, :m, CAST(:t AS jsonb), :status) ON CONFLICT (batch_id) DO NOTHING"
)
_UPDATE_BATCH = text(
    "UPDATE ops.pipeline_batches SET status = :status, dbt_status = :dbt_status, error = :error, "
    "results = CAST(:r AS jsonb), pid = COALESCE(:pid, pid), started_at = COALESCE(:started_at, started_at), "
    "finished_at = :finished_at, duration_ms = :duration_ms, dbt_duration_ms = :dbt_ms, "
    "dbt_metrics = CAST(:dbt_metrics AS jsonb) WHERE batch_id = :b"
)


def save_batch(outcome: BatchOutcome, url: str | None = None, **fields: Any) -> None:
    """Insert or update the batch row as the pipeline login (`fields`: pid, started_at, finished_at,
    duration_ms)."""
    from lib.db import get_engine

    params = {
        "b": outcome.batch_id, "m": outcome.mode, "t": json.dumps(list(outcome.tenants)),
        "status": outcome.status, "dbt_status": outcome.dbt_status, "error": outcome.error,
        "r": json.dumps(outcome.tenants), "pid": fields.get("pid"), "started_at": fields.get("started_at"),
        "finished_at": fields.get("finished_at"), "duration_ms": fields.get("duration_ms"),
        "dbt_ms": outcome.dbt_duration_ms,
        "dbt_metrics": None if outcome.dbt_metrics is None else json.dumps(outcome.dbt_metrics),
    }  # fmt: skip
    with get_engine("pipeline", url).begin() as conn:
        conn.execute(_UPSERT_BATCH, params)
        conn.execute(_UPDATE_BATCH, params)


def get_batch(batch_id: str, role: str = "app", url: str | None = None) -> dict[str, Any] | None:
    """The batch row (None when unknown)."""
    from lib.db import get_engine

    with get_engine(role, url).connect() as conn:  # type: ignore[arg-type]
        row = (
            conn.execute(text("SELECT * FROM ops.pipeline_batches WHERE batch_id = :b"), {"b": batch_id})
            .mappings()
            .first()
        )
    if row is None:
        return None
    out = dict(row)
    for k in ("started_at", "finished_at", "created_at"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    return out


# -- launching from the API -------------------------------------------------------------------------
def new_batch_id() -> str:
    """`<UTC timestamp>-batch-<hex>` (sorts by time like run ids)."""
    import secrets
    from datetime import UTC, datetime

    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-batch-{secrets.token_hex(3)}"


def batch_argv(batch_id: str, mode: str, tenants: Sequence[str]) -> list[str]:
    """The detached `bi run --all-tenants` of a queued batch (tenant ids are validated config ids)."""
    import sys

    return [sys.executable, "-m", "lib", "run", "--all-tenants", "--tenants", ",".join(tenants),
            "--mode", mode, "--batch-id", batch_id, "--no-progress"]  # fmt: skip


def _spawn(argv: list[str], batch_id: str) -> int:
    """Start the batch process detached; its output goes to `<RUNS_DIR>/batches/<batch_id>.log`."""
    import subprocess

    from lib.config import PROJECT_ROOT, get_settings

    folder = get_settings().runs_path / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{batch_id}.log", "xb") as log:
        proc = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=batch_env(),
        )  # fmt: skip
    return proc.pid


def batch_env() -> dict[str, str]:
    """A batch process's environment: a run's allow-list (no owner URL) plus every batched tenant's key
    variable, which it hands on to each tenant's own run only (lib.childenv scopes those)."""
    from lib.childenv import child_env
    from lib.config import load_tenants

    env = child_env("run")
    # it queues each tenant's run as the API does: the app login, through ops.queue_pipeline_run
    if os.environ.get("APP_DATABASE_URL"):
        env["APP_DATABASE_URL"] = os.environ["APP_DATABASE_URL"]
    for t in load_tenants():
        if t.server_key_env in os.environ:
            env[t.server_key_env] = os.environ[t.server_key_env]
    return env


def launch_batch(mode: str, tenants: Sequence[str]) -> str:
    """Queue a batch (app login) and spawn its process; return the batch id. Raises BatchLocked
    while another batch is in progress."""
    from lib.names import API_RUN_MODES, one_of

    if mode not in API_RUN_MODES:
        raise ValueError(f"mode must be {one_of(API_RUN_MODES)}, got {mode!r}")
    batch_id = new_batch_id()
    queue_batch(batch_id, mode, tenants)
    _spawn(batch_argv(batch_id, mode, tenants), batch_id)
    return batch_id


# -- running a batch (`bi run --all-tenants`) -------------------------------------------------------
POLL_S = 0.25  # how often the batch checks its runs' processes (a wait, no query)
LEDGER_POLL_S = 2.0  # how often it reads the ledger of a run whose process is still alive
EXIT_WAIT_S = 30.0  # how long a finished run's process may take to exit (and release its lock)
DONE = ("success", "failed")


def _now():  # noqa: ANN202 - datetime
    """`lib.clock.now()` (BI_CLOCK_NOW in tests)."""
    from lib.clock import now

    return now()


def _redact(message: str) -> str:
    """The message with every configured secret value masked."""
    from lib.config import secret_values

    for value in secret_values():
        message = message.replace(value, "***")
    return message


def _tag_run(run_id: str, tenant: str, batch_id: str) -> None:
    """The tenant's run belongs to the batch (its ledger row, under the tenant's RLS)."""
    from lib.db import tenant_tx

    with tenant_tx(tenant, "pipeline") as conn:
        conn.execute(
            text("UPDATE ops.pipeline_runs SET batch_id = :b WHERE run_id = :r"), {"b": batch_id, "r": run_id}
        )


def _run_state(run_id: str, tenant: str) -> ledger.RunRecord | None:
    from lib.pipeline import ledger

    return ledger.get_run(run_id, tenant, role="pipeline")


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # not spawned yet (or unknown): the ledger decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a child of ours that exited is a zombie until reaped
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def _result(run: ledger.RunRecord) -> dict[str, Any]:
    """A finished tenant run in the batch row; `error` names the first failed step with its message."""
    failed_steps = [s for s in run.steps if s.status == "failed"]
    failed = [s.step for s in failed_steps]
    error = run.error
    if failed_steps:
        first = failed_steps[0]
        error = f"step {first.step} failed" + (f": {first.error_message}" if first.error_message else "")
    return {
        "run_id": run.run_id,
        "status": run.status,
        "error": _redact(error)[:1000] if error else None,
        "failed_steps": failed,
        "duration_ms": run.duration_ms,
    }


def _failure_summary(tenants: dict[str, dict[str, Any]]) -> str | None:
    """`failed tenants: a (its error); b (…)`: each failed tenant with its own message (redacted)."""
    failed = [(t, r) for t, r in tenants.items() if r.get("status") == "failed"]
    if not failed:
        return None
    return "failed tenants: " + "; ".join(f"{t} ({r.get('error') or 'failed'})" for t, r in failed)


def _tenant_uptodate(tenant_id: str) -> str | None:
    """The reason a transform-only run of the tenant would do nothing (every transform and
    post-transform up to date, `lib.pipeline.skips`), or None when one would run (or it is unsure)."""
    from lib.config import get_tenant
    from lib.pipeline import skips
    from lib.pipeline.graph import plan

    try:
        tenant = get_tenant(tenant_id)
        steps = [s for s in plan("transform-only") if s.kind in ("transform", "post")]
        for step in steps:
            if not skips.decide(step, tenant).skip:
                return None
    except Exception:  # noqa: BLE001 - unsure: the run decides
        return None
    return f"al día: ninguna de sus {len(steps)} transformaciones tiene datos nuevos"


def _dbt_plan(tenants: Sequence[str], full_refresh: bool) -> tuple[str, list[str], dict[str, Any]]:
    """The batch's one dbt build, decided per tenant as a run decides its own (`skips`):
    ("skip", [], decisions) nothing changed for any tenant; ("select", selectors, …) the union of
    their selections; ("full", [], …) a tenant's full build is due (or unsure)."""
    from lib.config import get_tenant
    from lib.pipeline import skips
    from lib.pipeline.graph import all_steps

    step = next(s for s in all_steps() if s.kind == "dbt")
    decisions: dict[str, Any] = {}
    selectors: list[str] = []
    full = full_refresh
    for t in tenants:
        try:
            d = skips.decide(step, get_tenant(t), full_refresh=full_refresh)
        except Exception:  # noqa: BLE001 - a watermark query failed: build everything
            return "full", [], {}
        decisions[t] = d
        if d.skip:
            continue
        if d.full_build or d.params.get("full_refresh") or not d.params.get("dbt_select"):
            full = True
        else:
            selectors += [x for x in d.params["dbt_select"] if x not in selectors]
    if full:
        return "full", [], decisions
    return ("select", selectors, decisions) if selectors else ("skip", [], decisions)


def _reap_dead_batches(batch_id: str) -> None:
    """With the batch lock held no other batch is alive: its `running` rows (and queued rows past the
    grace) ended without a result."""
    from lib.db import get_engine

    with get_engine("pipeline").begin() as conn:
        conn.execute(
            text(
                "UPDATE ops.pipeline_batches SET status = 'failed', finished_at = now(), "
                "error = coalesce(error, 'the batch process ended without a result (see its log)') "
                "WHERE batch_id <> :b AND (status = 'running' OR (status = 'queued' "
                "AND created_at < now() - make_interval(secs => :grace)))"
            ),
            {"b": batch_id, "grace": QUEUED_GRACE_S},
        )


def run_batch(
    mode: str,
    tenants: Sequence[str],
    *,
    batch_id: str | None = None,
    max_parallel: int | None = None,
    dbt: bool = True,
    progress: bool = True,
    **params: Any,
) -> BatchOutcome:
    """Run every tenant (at most `max_parallel` at once, each its own `bi run` without dbt), then one
    `dbt build`. Never raises for a tenant's failure; see BatchOutcome. Another batch in progress:
    nothing runs, the outcome is `locked` (and this batch's row failed, saying so)."""
    import time

    from lib.pipeline.lock import BatchLock, BatchLocked

    batch_id = batch_id or new_batch_id()
    out = BatchOutcome(batch_id, mode, tenants={t: {"status": "queued"} for t in tenants})
    started, t0 = _now(), time.perf_counter()
    try:
        lock = BatchLock().acquire()
    except BatchLocked as exc:
        out.status, out.locked, out.error = "failed", True, str(exc)
        save_batch(out, started_at=started, finished_at=_now(), duration_ms=0, pid=os.getpid())
        return out
    try:
        _reap_dead_batches(batch_id)
        save_batch(out, started_at=started, pid=os.getpid())
        with _prestarted_dbt(dbt) as (prestart, warm):
            with _kernel_forkserver() as start_forkserver:
                _run_tenants(
                    out, mode, tenants, max_parallel or concurrency(), progress, params, start_forkserver,
                    on_tail=prestart,
                )  # fmt: skip
            ok = [t for t, r in out.tenants.items() if r.get("status") in ("success", "uptodate")]
            if dbt:
                _run_batch_dbt(out, ok, bool(params.get("full_refresh")), warm())
        out.status = "success" if not out.failed_tenants and out.dbt_status != "failed" else "failed"
        summary = _failure_summary(out.tenants)
        if summary:
            out.error = summary + (f"; {out.error}" if out.error else "")
        save_batch(out, finished_at=_now(), duration_ms=int((time.perf_counter() - t0) * 1000))
    finally:
        lock.release()
    if progress:
        print(f"batch {batch_id} {out.status.upper()}: "
              + ", ".join(f"{t} {r['status']}" for t, r in out.tenants.items()) + f"; dbt {out.dbt_status}",
              flush=True)  # fmt: skip
    return out


@contextlib.contextmanager
def _kernel_forkserver() -> Iterator[Callable[[], None]]:
    """The batch's fork server (`lib.pipeline.kernel_forkserver`: its runs and their kernels): the
    block gets a function that starts it (at the first tenant run launched: a batch with every tenant
    up to date starts none) and names it to the runs through the environment; without it (off, or it
    did not start) runs and kernels launch as usual. Stopped when the block ends."""
    from lib.childenv import KERNEL_FORKSERVER_ENV
    from lib.pipeline import kernel_forkserver

    before = os.environ.get(KERNEL_FORKSERVER_ENV)
    state: dict[str, Any] = {"server": None, "tried": before == "off"}

    def ensure() -> None:
        if not state["tried"]:
            state["tried"] = True
            state["server"] = kernel_forkserver.start()
            if state["server"] is not None:
                os.environ[KERNEL_FORKSERVER_ENV] = state["server"].path

    try:
        yield ensure
    finally:
        if state["server"] is not None:
            if before is None:
                os.environ.pop(KERNEL_FORKSERVER_ENV, None)
            else:
                os.environ[KERNEL_FORKSERVER_ENV] = before
            state["server"].stop()


@contextlib.contextmanager
def _prestarted_dbt(enabled: bool) -> Iterator[tuple[Callable[[], None], Callable[[], WarmDbt | None]]]:
    """The batch's dbt process, started ahead (lib.dbt_warm) once its last tenant runs leave cores
    idle: the block gets a function that starts it (nothing when `enabled` is false) and one that
    returns it (None when not started). Tried once: one that could not start leaves the build to
    start dbt as usual. An unused one is ended when the block ends."""
    from lib.dbt_warm import WarmDbt

    box: dict[str, WarmDbt | None] = {"warm": None}
    tried = not enabled

    def start() -> None:
        nonlocal tried
        if not tried:
            tried = True
            box["warm"] = WarmDbt.start()

    try:
        yield start, lambda: box["warm"]
    finally:
        if box["warm"] is not None:
            box["warm"].close()


def _run_batch_dbt(
    out: BatchOutcome, tenants: list[str], full_refresh: bool, warm: WarmDbt | None = None
) -> None:
    """The batch's one dbt build over the tenants that succeeded (see `_dbt_plan`); each tenant's dbt
    fingerprint is stored when it succeeds, so the next batch (or run) skips what did not change."""
    from lib.dbt_runner import run_dbt
    from lib.pipeline import skips

    if not tenants:
        out.dbt_status = "skipped"
        return
    how, selectors, decisions = _dbt_plan(tenants, full_refresh)
    if how == "skip":
        out.dbt_status = "uptodate"
        return
    res = run_dbt(
        "build", tenant_id=tenants[0], select=selectors or None, full_refresh=full_refresh, warm=warm
    )
    out.dbt_status = "success" if res.ok else "failed"
    out.dbt_duration_ms = round(res.duration_s * 1000)
    kept = (
        "dbt_elapsed_s",
        "models",
        "tests",
        "unit_tests",
        "select",
        "full_refresh",
        "slowest",
        "prestarted",
    )
    out.dbt_metrics = {k: res.metrics[k] for k in kept if k in res.metrics}
    if not res.ok:
        out.error = "dbt build failed: " + "; ".join(res.errors)[:2000]
        return
    for t, d in decisions.items():
        if how == "full":
            d.full_build = True
        skips.record(t, "dbt_build", d, out.batch_id)


def _run_tenants(
    out: BatchOutcome,
    mode: str,
    tenants: Sequence[str],
    limit: int,
    progress: bool,
    params: dict[str, Any],
    before_launch: Callable[[], None] = lambda: None,
    on_tail: Callable[[], None] = lambda: None,
) -> None:
    """Each tenant's own `bi run --no-dbt` (at most `limit` at once); the outcome updated as they end.
    `before_launch` runs before each launch (the kernel fork server starts at the first); `on_tail`
    once every run was launched and fewer are in flight than there are cores (the batch's dbt starts)."""
    import time

    from lib.pipeline.kernel_forkserver import server_path
    from lib.pipeline.launch import launch_run
    from lib.pipeline.lock import RunLocked

    batch_id = out.batch_id
    workers = workers_per_run(limit)
    say = print if progress else (lambda *_a, **_k: None)
    waiting = list(tenants)
    active: dict[str, Any] = {}
    ended: dict[str, float] = {}  # when a tenant's run was first seen finished
    skip_uptodate = mode == "transform-only" and not params.get("full_refresh")
    pids: dict[str, object] = {}  # a run's process, read from the ledger once it is known
    last_read: dict[str, float] = {}
    changed = True
    while waiting or active:
        while waiting and len(active) < limit:
            changed = True
            t = waiting.pop(0)
            reason = _tenant_uptodate(t) if skip_uptodate else None
            if reason is not None:
                out.tenants[t] = {"status": "uptodate", "reason": reason}
                say(f"batch {batch_id}: {t} up to date", flush=True)
                continue
            before_launch()
            try:
                run_id = launch_run(
                    t,
                    mode,
                    fork_server=server_path(),
                    batch_id=batch_id,
                    no_dbt=True,
                    max_workers=workers,
                    **params,
                )
            except RunLocked as exc:
                out.tenants[t] = {"status": "skipped", "reason": f"already running: {exc}"}
                say(f"batch {batch_id}: {t} skipped ({exc})", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - one tenant's launch never stops the others
                out.tenants[t] = {"status": "failed", "error": _redact(f"{type(exc).__name__}: {exc}")}
                continue
            _tag_run(run_id, t, batch_id)
            out.tenants[t] = {"run_id": run_id, "status": "running"}
            active[t] = run_id
        if changed:  # the batch row follows its tenants (launched, ended), not every poll
            save_batch(out)
            changed = False
        if not active:
            break
        if not waiting and len(active) < (os.cpu_count() or 1):
            on_tail()
        time.sleep(POLL_S)
        for t, run_id in list(active.items()):
            # a live process is only asked for its ledger row now and then: its end is seen as it exits
            if t in pids and _alive(pids[t]) and time.perf_counter() - last_read[t] < LEDGER_POLL_S:
                continue
            last_read[t] = time.perf_counter()
            run = _run_state(run_id, t)
            if run is not None and run.pid:
                pids[t] = run.pid
            if run is not None and run.status in DONE:
                # its process releases the tenant's lock as it exits: wait for that (a few seconds at
                # most), so a batch that ended leaves every tenant free for the next one
                if (
                    _alive(run.pid)
                    and time.perf_counter() - ended.setdefault(t, time.perf_counter()) < EXIT_WAIT_S
                ):
                    continue
                out.tenants[t] = _result(run)
            elif not _alive(run.pid if run is not None else None):
                run = _run_state(run_id, t)  # it may have written its end just before exiting
                if run is not None and run.status in DONE:
                    out.tenants[t] = _result(run)
                else:  # it never started or died: its ledger row must not stay queued/running
                    from lib.pipeline import ledger

                    error = "the run's process ended without a result (see its run.log)"
                    ledger.update_run(run_id, t, status="failed", finished_at=_now(), error=error)
                    out.tenants[t] = {"run_id": run_id, "status": "failed", "error": error}
            else:
                continue
            del active[t]
            changed = True
            say(f"batch {batch_id}: {t} {out.tenants[t]['status']}", flush=True)
    if changed:
        save_batch(out)  # the last ends, before the batch's dbt build


def batch_main(args: Any) -> int:
    """`bi run --all-tenants [--tenants a,b]`: exit 0 when every tenant ran (or was up to date, or
    skipped because it was already running) and the dbt build succeeded; 1 when a tenant or dbt
    failed; 2 bad usage; 3 another batch was in progress."""
    import sys

    from lib.config import ConfigError, load_tenants

    if getattr(args, "tenant", None) or args.from_step or args.only or args.resume or args.mode == "report":
        print("bi run: error: --all-tenants takes no --tenant/--from/--only/--resume and no report mode",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        known = [t.id for t in load_tenants()]
        wanted = [t for t in (args.tenants or "").split(",") if t.strip()] or "*"
        chosen = select_tenants(wanted, known)
    except (ConfigError, TenantSelectionError) as exc:
        print(f"bi run: error: {exc}", file=sys.stderr)
        return 2
    out = run_batch(
        args.mode, chosen.tenants, batch_id=args.batch_id, progress=not args.no_progress,
        date_from=args.date_from, date_to=args.date_to, full_refresh=args.full_refresh or None,
    )  # fmt: skip
    if out.locked:
        print(f"bi run: {out.error}", file=sys.stderr)
    if out.failed_tenants:
        print(f"bi run: failed tenants: {', '.join(out.failed_tenants)}", file=sys.stderr)
    if out.dbt_status == "failed":
        print("bi run: the batch's dbt build failed", file=sys.stderr)
    return out.exit_code
