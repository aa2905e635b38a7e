"""Run the dbt project (`dbt/`) against the configured database and report a StepResult.

dbt connects with the mart builder's login: `lib.db.login_url("dbt")` (DBT_DATABASE_URL, or the
embedded server's generated login), never the owner's. Its objects belong to the group `bi_dbt`
(`BI_DB_ROLE`, dbt's `role:`), so a renamed login can still replace them; the `mart_builder` policy
(migration 050) lets it read every tenant of raw/public while RLS stays forced for everyone else.
This module turns that URL into the `BI_DB_*` variables `dbt/profiles.yml` reads, runs dbt in
a subprocess (`--project-dir dbt --profiles-dir dbt`, target/log paths under a writable directory) and
parses `run_results.json` into rows/metrics/errors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lib.childenv import child_env
from lib.config import PROJECT_ROOT, get_settings
from lib.pipeline.procs import die_with_parent
from lib.steps import StepResult

if TYPE_CHECKING:
    from lib.dbt_warm import WarmDbt

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
FAILING = {"error", "fail", "runtime error"}
LOCKED_COMMANDS = {"build", "run", "seed", "snapshot"}
DBT_LOCK_KEY = 7_130_042  # pg_advisory_lock key serialising dbt builds on a database
DBT_GROUP = "bi_dbt"  # the mart builder's privilege group (migration 050): owner of the marts


def dbt_env(url: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a dbt process: the `dbt` allow-list of `base` (default os.environ, see
    `lib.childenv`: no other login, no key, no token) plus BI_DB_* from the mart builder's URL (`url`,
    default its configured login)."""
    from lib.db import login_url, normalise

    u = normalise(url or login_url("dbt"))
    host = u.host or u.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    env = child_env("dbt", base=base)
    env.update(
        BI_DB_HOST=str(host),
        BI_DB_PORT=str(u.port or 5432),
        BI_DB_USER=u.username or os.environ.get("PGUSER", "postgres"),
        BI_DB_PASSWORD=u.password or "",
        BI_DB_NAME=u.database or "",
        BI_DB_ROLE=DBT_GROUP,
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
    )
    # Start-up: no version check; partial parsing (saved in the per-database target dir) stays on.
    env.setdefault("DBT_VERSION_CHECK", "false")
    env.setdefault("DBT_PARTIAL_PARSE", "true")
    # Threads (profiles.yml reads BI_DBT_THREADS): one per core, at least 2. Nodes wait on PostgreSQL
    # on the same cores; 4 threads on 2 cores took the same wall time with twice the CPU.
    env.setdefault("BI_DBT_THREADS", str(max(2, os.cpu_count() or 1)))
    sslmode = u.query.get("sslmode")
    if sslmode:
        env["BI_DB_SSLMODE"] = str(sslmode if isinstance(sslmode, str) else sslmode[0])
    return env


def dbt_work_dir() -> Path:
    """Writable directory for dbt's target/ and logs/ (under BI_DATA_DIR, never inside dbt/)."""
    base = Path(os.environ.get("BI_DBT_WORK_DIR") or get_settings().data_dir / "dbt")
    # One target/ per database: runs on one database are serialised by _build_lock, runs on
    # different databases (tests, several environments) must not overwrite each other's manifest.
    from lib.db import login_url, normalise

    path = base / (normalise(login_url("dbt")).database or "default")
    path.mkdir(parents=True, exist_ok=True)
    return path


def dbt_process_env(work: Path) -> dict[str, str]:
    """The environment of a dbt process whose target and logs are under `work`."""
    from lib.db.citus import dbt_role

    env = dbt_env()
    env["BI_DB_ROLE"] = dbt_role(env["BI_DB_ROLE"])  # on Citus: no SET ROLE (lib/db/citus.py)
    env["DBT_TARGET_PATH"] = str(work / "target")
    env["DBT_LOG_PATH"] = str(work / "logs")
    return env


@contextmanager
def _build_lock(enabled: bool = True) -> Iterator[None]:
    """Serialise dbt runs on one database (two tenants' pipelines may finish together)."""
    if not enabled:
        yield
        return
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("dbt").connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": DBT_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": DBT_LOCK_KEY})
            conn.commit()


def _dbt_executable() -> list[str]:
    """dbt's CLI on this interpreter, without its slow optional import (lib.pipeline._fastimport);
    PYTHONPATH (the `dbt` allow-list) has the project root, so `lib` imports in the child."""
    from lib.pipeline._fastimport import DBT_LAUNCHER

    return [sys.executable, "-c", DBT_LAUNCHER]


def build_command(
    command: str,
    *,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    full_refresh: bool = False,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The dbt argv (without the executable) for a command with the project's paths."""
    args = [*command.split(), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if select:
        args += ["--select", *_as_list(select)]
    if exclude:
        args += ["--exclude", *_as_list(exclude)]
    if full_refresh:
        args.append("--full-refresh")
    args += list(extra_args)
    return args


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


SLOWEST_NODES = 8


def parse_run_results(path: Path) -> dict[str, Any]:
    """Counts and errors from dbt's run_results.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    by_type: dict[str, Counter[str]] = {}
    rows_out = 0
    errors: list[str] = []
    warnings: list[str] = []
    timed: list[tuple[float, str]] = []
    for res in data.get("results", []):
        uid: str = res.get("unique_id", "")
        kind = uid.split(".", 1)[0] or "node"
        status = str(res.get("status", "")).lower()
        by_type.setdefault(kind, Counter())[status] += 1
        adapter = res.get("adapter_response") or {}
        if kind == "model" and isinstance(adapter.get("rows_affected"), int):
            rows_out += max(adapter["rows_affected"], 0)
        name = uid.split(".")[-1] if kind != "unit_test" else ".".join(uid.split(".")[-2:])
        timed.append((float(res.get("execution_time") or 0.0), f"{kind} {name}"))
        msg = (res.get("message") or "").strip().splitlines()
        first = msg[0] if msg else status
        if status in FAILING:
            errors.append(f"{kind} {name}: {status}: {first}"[:500])
        elif status == "warn":
            warnings.append(f"{kind} {name}: {first}"[:300])
    metrics: dict[str, Any] = {
        "dbt_elapsed_s": round(float(data.get("elapsed_time") or 0.0), 3),
        "invocation_id": (data.get("metadata") or {}).get("invocation_id"),
        # where a slow build's time went: its slowest nodes, seconds
        "slowest": {node: round(secs, 2) for secs, node in sorted(timed, reverse=True)[:SLOWEST_NODES]},
    }
    models = by_type.get("model", Counter())
    tests = by_type.get("test", Counter())
    units = by_type.get("unit_test", Counter())
    metrics.update(
        models=sum(models.values()),
        models_ok=models["success"],
        models_failed=models["error"],
        models_skipped=models["skipped"],
        tests=sum(tests.values()),
        tests_passed=tests["pass"],
        tests_failed=tests["fail"] + tests["error"],
        tests_warned=tests["warn"],
        tests_skipped=tests["skipped"],
        unit_tests=sum(units.values()),
        unit_tests_passed=units["pass"],
        unit_tests_failed=units["fail"] + units["error"],
    )
    skipped = sum(c["skipped"] for c in by_type.values())
    return {
        "rows_out": rows_out,
        "metrics": metrics,
        "errors": errors,
        "warnings": warnings,
        "nodes": sum(sum(c.values()) for c in by_type.values()),
        "skipped": skipped,
    }


def run_dbt(
    command: str = "build",
    *,
    tenant_id: str | None = None,
    run_dir: str | Path | None = None,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    full_refresh: bool = False,
    extra_args: Sequence[str] = (),
    timeout_s: float | None = 1800,
    warm: WarmDbt | None = None,
) -> StepResult:
    """Run `dbt <command>` for the project; return a StepResult (errors listed when dbt fails).

    The marts hold every tenant (RLS separates them), so `tenant_id` only labels the result.
    `run_dir` (a pipeline run's archive) receives a copy of run_results.json and dbt's log tail.
    `warm`: a dbt process started ahead (lib.dbt_warm) runs it when it is still waiting.
    """
    tenant = tenant_id or get_settings().tenant_id
    step = "dbt_" + command.split()[0]
    result = StepResult(step=step, tenant_id=tenant)
    started = time.monotonic()
    work = dbt_work_dir()
    target = work / "target"
    results_file = target / "run_results.json"
    args = build_command(
        command, select=select, exclude=exclude, full_refresh=full_refresh, extra_args=extra_args
    )
    argv = _dbt_executable() + args
    before = results_file.stat().st_mtime_ns if results_file.exists() else None
    try:
        env = dbt_process_env(work)
        with _build_lock(command.split()[0] in LOCKED_COMMANDS):
            proc = warm.run(args, timeout_s) if warm is not None else None
            result.metrics["prestarted"] = proc is not None
            proc = proc or subprocess.run(  # noqa: S603 - fixed executable, our own argv
                argv,
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                preexec_fn=die_with_parent,  # a killed step kernel takes dbt with it
            )
    except subprocess.TimeoutExpired:
        result.errors.append(f"dbt {command} timed out after {timeout_s:.0f} s")
        result.duration_s = time.monotonic() - started
        return result
    except Exception as exc:  # noqa: BLE001 - no database: report, do not crash the pipeline
        result.errors.append(f"dbt could not start: {type(exc).__name__}: {exc}")
        result.duration_s = time.monotonic() - started
        return result
    result.calls = 1
    result.metrics["returncode"] = proc.returncode
    result.metrics["select"] = _as_list(select) if select else None
    result.metrics["exclude"] = _as_list(exclude) if exclude else None
    result.metrics["full_refresh"] = full_refresh
    fresh = results_file.exists() and results_file.stat().st_mtime_ns != before
    if fresh:
        parsed = parse_run_results(results_file)
        result.rows_out = parsed["rows_out"]
        result.metrics.update(parsed["metrics"])
        result.errors.extend(parsed["errors"])
        result.warnings.extend(parsed["warnings"])
    if proc.returncode != 0 and not result.errors:
        tail = [ln for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()][-15:]
        result.errors.append(f"dbt {command} exited with {proc.returncode}: " + " | ".join(tail)[-1500:])
    if run_dir is not None:
        dest = Path(run_dir)
        dest.mkdir(parents=True, exist_ok=True)
        if fresh:
            shutil.copy2(results_file, dest / "run_results.json")
        (dest / "dbt_output.log").write_text(proc.stdout[-200_000:] + proc.stderr[-50_000:], encoding="utf-8")
    result.metrics["stdout_tail"] = "\n".join(proc.stdout.splitlines()[-20:])
    result.duration_s = time.monotonic() - started
    return result


def cli_main(args: argparse.Namespace) -> int:
    """`bi dbt <dbt args…>`: run dbt with the project's settings, print a summary; exit 0 on success."""
    dbt_args = [a for a in (getattr(args, "dbt_args", None) or []) if a != "--"] or ["build"]
    env = dbt_process_env(dbt_work_dir())
    if dbt_args[0].startswith("-"):  # e.g. `bi dbt --version`
        argv = _dbt_executable() + dbt_args
    else:
        argv = _dbt_executable() + build_command(dbt_args[0], extra_args=dbt_args[1:])
    with _build_lock(dbt_args[0] in LOCKED_COMMANDS):
        proc = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, check=False)  # noqa: S603
    return proc.returncode
