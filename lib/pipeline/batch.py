"""Batches: one run over many tenants (`bi run --all-tenants`, `"tenant": "*"` or a list on the API).

Each tenant gets its own `bi run` process (its own key, rate limit, sync state, lock and ledger run,
tagged with the batch id) without the dbt step; at most `BI_BATCH_CONCURRENCY` (default 4) run at
once, and one tenant's failure never stops another. Then ONE `dbt build` runs for the batch. The
batch row (`ops.pipeline_batches`) records the tenants, each one's run and status, the dbt status
and which tenants failed; a tenant whose run is already in progress is `skipped` with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

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

    @property
    def failed_tenants(self) -> list[str]:
        return [t for t, r in self.tenants.items() if r.get("status") == "failed"]

    @property
    def skipped_tenants(self) -> list[str]:
        return [t for t, r in self.tenants.items() if r.get("status") == "skipped"]

    @property
    def exit_code(self) -> int:
        """0 every tenant ran (or was skipped: already running) and dbt succeeded; 1 otherwise."""
        return 0 if self.status == "success" else 1

    def document(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "mode": self.mode,
            "status": self.status,
            "dbt_status": self.dbt_status,
            "failed_tenants": self.failed_tenants,
            "skipped_tenants": self.skipped_tenants,
            "tenants": self.tenants,
            "error": self.error,
        }


def queue_batch(batch_id: str, mode: str, tenants: Iterable[str], url: str | None = None) -> bool:
    """The queued batch row, as the app login (the API) through `ops.queue_pipeline_batch`."""
    from lib.db import get_engine

    with get_engine("app", url).begin() as conn:
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
    "finished_at = :finished_at, duration_ms = :duration_ms WHERE batch_id = :b"
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
            start_new_session=True, env=dict(os.environ),
        )  # fmt: skip
    return proc.pid


def launch_batch(mode: str, tenants: Sequence[str]) -> str:
    """Queue a batch (app login) and spawn its process; return the batch id."""
    if mode not in ("full", "transform-only"):
        raise ValueError(f"mode must be full or transform-only, got {mode!r}")
    batch_id = new_batch_id()
    queue_batch(batch_id, mode, tenants)
    _spawn(batch_argv(batch_id, mode, tenants), batch_id)
    return batch_id
