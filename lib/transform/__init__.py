"""Transform bridge: raw.* -> public.* as set-based, time-zone-aware, idempotent, incremental SQL.

One module + one `.sql` per target table (see `_core` for the statement contract). Entry point:
`run_transform(name, *, tenant_id=None, run_id=None, full_refresh=False) -> StepResult`; names in
`TRANSFORMS` (data model order) then `POST_TRANSFORMS`.
"""

from __future__ import annotations

from lib.steps import StepResult
from lib.transform import (
    agents,
    campaigns,
    chat_channels,
    chat_conversations,
    contacts,
    contacts_totals,
    daily_stats,
    daily_stats_totals,
    messages,
    toques_daily,
    toques_heatmap,
)
from lib.transform._core import Transform, execute

_ORDERED: tuple[Transform, ...] = (
    contacts.TRANSFORM,
    daily_stats.TRANSFORM,
    toques_daily.TRANSFORM,
    toques_heatmap.TRANSFORM,
    campaigns.TRANSFORM,
    messages.TRANSFORM,
    chat_conversations.TRANSFORM,
    chat_channels.TRANSFORM,
)
_POST: tuple[Transform, ...] = (contacts_totals.TRANSFORM, daily_stats_totals.TRANSFORM, agents.TRANSFORM)

TRANSFORMS: tuple[str, ...] = tuple(t.name for t in _ORDERED)
POST_TRANSFORMS: tuple[str, ...] = tuple(t.name for t in _POST)
REGISTRY: dict[str, Transform] = {t.name: t for t in (*_ORDERED, *_POST)}

__all__ = ["POST_TRANSFORMS", "REGISTRY", "TRANSFORMS", "Transform", "run_all", "run_transform"]


def run_transform(
    name: str, *, tenant_id: str | None = None, run_id: str | None = None, full_refresh: bool = False
) -> StepResult:
    """Run one transform or post-transform for a tenant (default: the configured one)."""
    from lib.config import get_tenant
    from lib.db import ensure_tenant

    if name not in REGISTRY:
        raise ValueError(f"unknown transform {name!r}; expected one of {', '.join(REGISTRY)}")
    tenant = get_tenant(tenant_id)
    ensure_tenant(tenant)  # the tenant's time zone must be in public.tenants for the SQL
    return execute(REGISTRY[name], tenant.id, run_id=run_id, full_refresh=full_refresh)


def run_all(
    *, tenant_id: str | None = None, run_id: str | None = None, full_refresh: bool = False
) -> list[StepResult]:
    """Every transform in data model order, then every post-transform."""
    return [
        run_transform(name, tenant_id=tenant_id, run_id=run_id, full_refresh=full_refresh)
        for name in (*TRANSFORMS, *POST_TRANSFORMS)
    ]
