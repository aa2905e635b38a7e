"""The tenants table: each configured tenant's name and time zone, where SQL can read them."""

from __future__ import annotations

from sqlalchemy import text

from lib.config import ConfigError, TenantConfig
from lib.db.engine import tenant_tx

_UPSERT = text(
    "INSERT INTO public.tenants (id, name, timezone, service_level_seconds) VALUES (:id, :name, :tz, :sl) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone, "
    "service_level_seconds = EXCLUDED.service_level_seconds, updated_at = EXCLUDED.updated_at "
    "WHERE (tenants.name, tenants.timezone, tenants.service_level_seconds) IS DISTINCT FROM "
    "(EXCLUDED.name, EXCLUDED.timezone, EXCLUDED.service_level_seconds)"
)
DEFAULT_SERVICE_LEVEL_SECONDS = 60


def ensure_tenant(tenant: TenantConfig, url: str | None = None) -> None:
    """Insert or refresh `public.tenants` for this tenant (idempotent).

    `service_level_seconds` (the T of the service-level KPI) comes from the tenant's entry in
    tenants.yml, default 60.
    """
    sl = tenant.extra.get("service_level_seconds", DEFAULT_SERVICE_LEVEL_SECONDS)
    try:
        sl = int(sl)
    except (TypeError, ValueError):
        sl = 0
    if sl <= 0:
        raise ConfigError(f"tenant {tenant.id!r}: service_level_seconds must be a positive whole number")
    with tenant_tx(tenant.id, "pipeline", url) as conn:
        conn.execute(_UPSERT, {"id": tenant.id, "name": tenant.name, "tz": tenant.timezone, "sl": sl})
