"""What a step notebook calls: `run_step(kind, name, **parameters)`, one call into lib.

It checks the parameters (the env var *named* for the key is set, the date range is valid), calls the
lib entry point (`lib.extract.run_extractor`, `lib.transform.run_transform`, `lib.dbt_runner.run_dbt`),
and writes the StepResult as JSON to `result_path` for the runner (nothing is written when None, e.g.
when an analyst runs the notebook by hand).

Fault injection (tests, drills): `BI_PIPELINE_FAULT=<step id>[=<message>]` makes that step raise
`InjectedFault` before it calls lib. Several steps: separate with commas. `run_log=<text>` makes the
runner print <text> to its output (a drill of the run.log scan).
"""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from lib.steps import StepResult

FAULT_ENV = "BI_PIPELINE_FAULT"


class InjectedFault(RuntimeError):
    """Raised by a step named in BI_PIPELINE_FAULT."""


def fault_for(step_id: str) -> str | None:
    """The message of the fault BI_PIPELINE_FAULT injects into `step_id`, or None."""
    for item in os.environ.get(FAULT_ENV, "").split(","):
        target, _, message = item.strip().partition("=")
        if target and target == step_id:
            return message or f"fault injected into {step_id} by {FAULT_ENV}"
    return None


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def check_date_range(
    date_from: date | str | None, date_to: date | str | None
) -> tuple[date | None, date | None]:
    """Parse both dates; raise ValueError when the range is inverted."""
    d0, d1 = _as_date(date_from, "date_from"), _as_date(date_to, "date_to")
    if d0 and d1 and d0 > d1:
        raise ValueError(f"invalid date range: date_from {d0} is after date_to {d1}")
    return d0, d1


def check_secret_env(env_name: str | None) -> None:
    """Raise when the env var that should hold the key is not set (the value is never shown)."""
    if not env_name:
        return
    from lib.config import ConfigError, key_from_env

    if key_from_env(env_name) is not None:  # the environment, .env, or the settings object
        return
    raise ConfigError(f"the API key env var {env_name} is not set (export it, or put it in .env)")


def write_result(result: StepResult, result_path: str | os.PathLike[str] | None) -> None:
    """Write the result as JSON for the runner (no-op without a path)."""
    if result_path:
        Path(result_path).write_text(json.dumps(result.to_dict(), default=str), encoding="utf-8")


def run_step(
    kind: str,
    name: str,
    *,
    tenant: str | None = None,
    run_id: str | None = None,
    result_path: str | None = None,
    application_id: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    mode: str = "incremental",
    server_key_env: str | None = None,
    full_refresh: bool = False,
    select: str | list[str] | None = None,
    exclude: str | list[str] | None = None,
    run_dir: str | None = None,
) -> StepResult:
    """Run one pipeline step in this process and return its StepResult (see module doc)."""
    step_id = f"{kind}_{name}"
    fault = fault_for(step_id)
    if fault:
        raise InjectedFault(fault)
    started = time.perf_counter()
    if kind == "extract":
        d0, d1 = check_date_range(date_from, date_to)
        check_secret_env(server_key_env)
        from lib.extract import run_extractor

        result = run_extractor(
            name, tenant_id=tenant, application_id=application_id, date_from=d0, date_to=d1,
            run_id=run_id, mode=mode,
        )  # fmt: skip
    elif kind in ("transform", "post"):
        from lib.transform import run_transform

        result = run_transform(name, tenant_id=tenant, run_id=run_id, full_refresh=full_refresh)
    elif kind == "dbt":
        from lib.dbt_runner import run_dbt

        kwargs: dict[str, Any] = {"tenant_id": tenant, "run_dir": run_dir, "select": select}
        if exclude:
            kwargs["exclude"] = exclude
        if full_refresh:
            kwargs["full_refresh"] = True
        result = run_dbt(name, **kwargs)
    else:
        raise ValueError(f"unknown step kind {kind!r}")
    if not result.duration_s:
        result.duration_s = time.perf_counter() - started
    write_result(result, result_path)
    return result
