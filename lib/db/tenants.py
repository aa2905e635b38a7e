"""The tenants table: each configured tenant's name and time zone, where SQL can read them."""

from __future__ import annotations

from sqlalchemy import text

from lib.config import TenantConfig
from lib.db.engine import tenant_tx

_UPSERT = text(
    "INSERT INTO public.tenants (id, name, timezone) VALUES (:id, :name, :tz) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone, updated_at = now() "
    "WHERE (tenants.name, tenants.timezone) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.timezone)"
)


def ensure_tenant(tenant: TenantConfig, url: str | None = None) -> None:
    """Insert or refresh `public.tenants` for this tenant (idempotent)."""
    with tenant_tx(tenant.id, "loader", url) as conn:
        conn.execute(_UPSERT, {"id": tenant.id, "name": tenant.name, "tz": tenant.timezone})
