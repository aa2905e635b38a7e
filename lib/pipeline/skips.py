"""Skip up-to-date work: a step whose inputs did not change since its last success is `skipped`.

Right before a step would run (its dependencies done), `decide(step, …)` reads the watermarks of its
inputs for the tenant (pipeline login, RLS) and compares them with the fingerprint stored at its last
success (`ops.step_state`):

- extract steps always run (their input is the API);
- a transform: per raw source table, the tenant's highest raw id and row count, plus the tenant's
  time zone and the transform's SQL; equal -> skipped;
- a post-transform: nothing queued for it in `ops.transform_dirty` (and its SQL unchanged) -> skipped;
- dbt: per `public` source table, the tenant's max(updated_at) and row count, plus the time zone and a
  hash of the dbt project. Nothing changed -> skipped; some sources changed -> `dbt build --select
  source:indigitall.<table>+`: those models, every data test with a selected parent (dbt's eager
  indirect selection) and the unit tests of those models (children in dbt's graph), nothing excluded;
  every BI_DBT_FULL_BUILD_HOURS (24), on a changed project or without a previous success -> the full
  build; a changed time zone -> the full build with `--full-refresh`.

`full_refresh` and `--only`/`--from`/`--resume` runs never skip a step they name. `record(...)` stores
the fingerprint when the step succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import text

from lib import clock
from lib.config import PROJECT_ROOT, TenantConfig
from lib.db import tenant_tx
from lib.pipeline.graph import Step

DBT_SOURCES = (
    "tenants", "messages", "chat_conversations", "chat_channels", "contacts", "agents", "daily_stats",
    "toques_daily", "campaigns", "toques_heatmap", "sync_state",
)  # fmt: skip
DBT_DIR = PROJECT_ROOT / "dbt"
_TARGET_RE = re.compile(r"\.target\s*=\s*'(\w+)'")


@dataclass
class Decision:
    """Whether a step runs, why not, what it must be told (dbt selection, full refresh)."""

    skip: bool = False
    reason: str | None = None
    fingerprint: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    full_build: bool = False  # dbt: every model built (resets the daily full-build clock)


def full_build_hours() -> float:
    """BI_DBT_FULL_BUILD_HOURS (default 24): how often dbt builds everything whatever changed."""
    try:
        return float(os.environ.get("BI_DBT_FULL_BUILD_HOURS") or 24)
    except ValueError:
        return 24.0


def _state(tenant_id: str, step_id: str) -> dict[str, Any] | None:
    with tenant_tx(tenant_id) as conn:
        row = conn.execute(
            text("SELECT fingerprint, run_id, succeeded_at, full_at FROM ops.step_state WHERE step = :s"),
            {"s": step_id},
        ).first()
    return dict(row._mapping) if row else None


def record(tenant_id: str, step_id: str, decision: Decision, run_id: str) -> None:
    """Store the fingerprint of a step that succeeded (and, for a full dbt build, its time)."""
    if decision.fingerprint is None:
        return
    now = clock.now()
    with tenant_tx(tenant_id) as conn:
        conn.execute(
            text(
                "INSERT INTO ops.step_state AS s (tenant_id, step, fingerprint, run_id, succeeded_at, full_at) "
                "VALUES (:t, :s, CAST(:f AS jsonb), :r, :now, :full) ON CONFLICT (tenant_id, step) DO UPDATE SET "
                "fingerprint = EXCLUDED.fingerprint, run_id = EXCLUDED.run_id, succeeded_at = EXCLUDED.succeeded_at, "
                "full_at = coalesce(EXCLUDED.full_at, s.full_at), updated_at = now()"
            ),
            {"t": tenant_id, "s": step_id, "f": json.dumps(decision.fingerprint, default=str), "r": run_id,
             "now": now, "full": now if decision.full_build else None},
        )  # fmt: skip


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def _dbt_project_hash(_key: float) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in DBT_DIR.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".yaml")
    ):
        if "target" in path.parts or "logs" in path.parts:
            continue
        digest.update(path.relative_to(DBT_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def dbt_project_hash() -> str:
    """A hash of the dbt project's models, macros and settings (a changed project builds everything)."""
    newest = max((p.stat().st_mtime for p in DBT_DIR.rglob("*.*")), default=0.0)
    return _dbt_project_hash(newest)


def _raw_marks(tenant_id: str, tables: tuple[str, ...]) -> dict[str, list[int]]:
    from lib.transform._core import RAW_TABLES

    marks = {}
    with tenant_tx(tenant_id) as conn:
        for table in tables:
            if table not in RAW_TABLES:
                raise ValueError(f"unknown raw table {table!r}")
            row = conn.execute(
                text(f"SELECT coalesce(max(id), 0), count(*) FROM raw.{table} WHERE tenant_id = :t"),  # noqa: S608
                {"t": tenant_id},
            ).one()
            marks[table] = [int(row[0]), int(row[1])]
    return marks


def public_marks(tenant_id: str, tables: tuple[str, ...] = DBT_SOURCES) -> dict[str, list[Any]]:
    """Per public table: [max(updated_at) as ISO text, row count] of the tenant."""
    marks: dict[str, list[Any]] = {}
    with tenant_tx(tenant_id) as conn:
        for table in tables:
            if table not in DBT_SOURCES:
                raise ValueError(f"unknown public table {table!r}")
            key = "id" if table == "tenants" else "tenant_id"
            row = conn.execute(
                text(f"SELECT max(updated_at), count(*) FROM public.{table} WHERE {key} = :t"),  # noqa: S608
                {"t": tenant_id},
            ).one()
            marks[table] = [row[0].isoformat() if row[0] else None, int(row[1])]
    return marks


def _since(state: dict[str, Any]) -> str:
    return f"la ejecución {state['run_id']}" if state.get("run_id") else "el último éxito"


def _decide_transform(step: Step, tenant: TenantConfig, state: dict[str, Any] | None) -> Decision:
    from lib.transform import REGISTRY

    tf = REGISTRY[step.name]
    marks = _raw_marks(tenant.id, tf.sources)
    fp = {"raw": marks, "timezone": tenant.timezone, "sql": _sha(tf.sql())}
    if state is not None and state["fingerprint"] == fp:
        where = ", ".join(f"raw.{t} hasta id {m[0]} ({m[1]} filas)" for t, m in marks.items())
        return Decision(True, f"sin datos nuevos desde {_since(state)}: {where}", fp)
    return Decision(False, None, fp)


def _decide_post(step: Step, tenant: TenantConfig, state: dict[str, Any] | None) -> Decision:
    from lib.transform import REGISTRY

    tf = REGISTRY[step.name]
    sql = tf.sql()
    targets = sorted(set(_TARGET_RE.findall(sql))) or [step.name]
    with tenant_tx(tenant.id) as conn:
        queued = int(
            conn.execute(
                text("SELECT count(*) FROM ops.transform_dirty WHERE tenant_id = :t AND target = ANY(:g)"),
                {"t": tenant.id, "g": targets},
            ).scalar_one()
        )
    fp = {"sql": _sha(sql), "timezone": tenant.timezone}
    if queued == 0 and state is not None and state["fingerprint"] == fp:
        return Decision(True, f"sin claves pendientes ({', '.join(targets)}) desde {_since(state)}", fp)
    return Decision(False, None, fp)


def _decide_dbt(tenant: TenantConfig, state: dict[str, Any] | None) -> Decision:
    marks = public_marks(tenant.id)
    fp = {"public": marks, "timezone": tenant.timezone, "project": dbt_project_hash()}
    if state is None:
        return Decision(False, None, fp, full_build=True)
    old = state["fingerprint"] or {}
    if old.get("timezone") != tenant.timezone:
        return Decision(False, None, fp, {"full_refresh": True}, full_build=True)
    full_at = state.get("full_at")
    due = full_at is None or clock.now() - _aware(full_at) >= timedelta(hours=full_build_hours())
    if due or old.get("project") != fp["project"]:
        return Decision(False, None, fp, full_build=True)
    changed = [t for t in DBT_SOURCES if (old.get("public") or {}).get(t) != marks[t]]
    if not changed:
        return Decision(True, f"sin cambios en public.* desde {_since(state)}", fp)
    # `source:x+` alone: dbt adds the data tests and unit tests of the selected models; no --exclude
    return Decision(False, None, fp, {"dbt_select": [f"source:indigitall.{t}+" for t in changed]})


def _aware(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def decide(step: Step, tenant: TenantConfig, *, force: bool = False, full_refresh: bool = False) -> Decision:
    """Whether `step` runs now (see the module doc); `force` (named by --only/--from/--resume) runs it."""
    if step.kind == "extract":
        return Decision()
    state = _state(tenant.id, step.id)
    if step.kind == "transform":
        decision = _decide_transform(step, tenant, state)
    elif step.kind == "post":
        decision = _decide_post(step, tenant, state)
    elif step.kind == "dbt":
        decision = _decide_dbt(tenant, state)
        if full_refresh:
            decision.params = {"full_refresh": True}
            decision.full_build = True
    else:
        return Decision()
    if decision.skip and (force or full_refresh):
        decision.skip, decision.reason = False, None
    return decision
