"""Start a pipeline run from another process (the HTTP API): a detached `python -m lib run`.

One launch per tenant even when triggers arrive together: the check (run lock, queued/running rows)
and the insert of the queued row happen in one transaction holding a per-tenant advisory lock, so a
second launch waits for the first to commit, then sees its queued row and gets RunLocked.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import text

from lib import clock
from lib.childenv import child_env
from lib.config import PROJECT_ROOT, get_settings, get_tenant
from lib.db import tenant_tx
from lib.names import RUN_MODES, one_of
from lib.pipeline import archive, ledger
from lib.pipeline.lock import RunLocked, is_locked, lock_key
from lib.pipeline.runner import new_run_id

QUEUED_GRACE_S = 120
LAUNCH_LOCK_CLASS = 0x0B1_0002  # "bi pipeline launch" (the run lock itself is lock.LOCK_CLASS)


def launch_run(
    tenant_id: str | None, mode: str = "full", *, fork_server: str | None = None, **params: object
) -> str:
    """Queue a run and spawn its process; return the run id. Raises RunLocked if one is in progress.

    `params` may hold date_from, date_to, full_refresh, from_step, only, no_dbt, max_workers (the
    `bi run` options). `fork_server` (a batch's, `lib.pipeline.kernel_forkserver`) forks the process
    from one that has imported the runner already; unreachable, the run starts as a new Python.
    """
    if mode not in RUN_MODES:
        raise ValueError(f"mode must be {one_of(RUN_MODES)}, got {mode!r}")
    tenant = get_tenant(tenant_id)
    with tenant_tx(tenant.id, "app") as conn:
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:c, :k)"),
            {"c": LAUNCH_LOCK_CLASS, "k": lock_key(tenant.id)[1]},
        )  # held until this transaction commits the queued row (or fails)
        if is_locked(tenant.id):
            raise RunLocked(tenant.id, "its run lock is held")
        now = clock.now()
        for run in ledger.active_runs(tenant.id, conn=conn):  # dead runs reaped first (ledger.reap_dead_runs)
            created = run.created_at  # the database's wall clock, as is the grace
            if (
                run.status == "queued"
                and created
                and (datetime.now(UTC) - created).total_seconds() < QUEUED_GRACE_S
            ):
                raise RunLocked(tenant.id, f"run {run.run_id} is queued")
        run_id = new_run_id(now)
        folder = archive.run_dir(get_settings().runs_path, now, run_id)
        ledger.queue_run(
            run_id, tenant.id, mode, archive_dir=str(folder), lib_version=archive.lib_version(),
            params={"mode": mode, "tenant": tenant.id, **{k: v for k, v in params.items() if v is not None}},
            conn=conn,
        )  # fmt: skip
    argv = ["run", "--run-id", run_id, "--mode", mode, "--tenant", tenant.id, "--no-progress"]
    for key in ("date_from", "date_to", "from_step", "only"):
        if params.get(key):
            argv += [f"--{key.replace('_', '-').replace('from-step', 'from')}", str(params[key])]
    if params.get("full_refresh"):
        argv.append("--full-refresh")
    if params.get("no_dbt"):
        argv.append("--no-dbt")
    if params.get("max_workers"):
        argv += ["--workers", str(int(params["max_workers"]))]  # type: ignore[call-overload]
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "run.log", "xb")  # noqa: SIM115 - handed to the child
    try:
        pid = _start(argv, child_env("run", tenant=tenant.id), log.fileno(), fork_server)
    finally:
        log.close()
    ledger.set_queued_pid(run_id, tenant.id, pid)
    return run_id


def _start(argv: list[str], env: dict[str, str], log_fd: int, fork_server: str | None) -> int:
    """`python -m lib <argv>` detached (own session, stdin /dev/null, output on `log_fd`): forked by
    `fork_server` when it answers, else a new process. Its pid."""
    if fork_server:
        from lib.pipeline.kernel_forkserver import fork_run

        try:
            return fork_run(fork_server, argv, env, str(PROJECT_ROOT), log_fd)
        except (OSError, RuntimeError, ValueError):
            pass  # not forked (the server answers only once its child runs): launch it
    proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "lib", *argv], cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log_fd,
        stderr=subprocess.STDOUT, start_new_session=True, env=env,
    )  # fmt: skip
    return proc.pid
