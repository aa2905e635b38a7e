"""Database access: the embedded server, one login per kind of process, tenant transactions, migrations."""

from lib.db.engine import dispose_engines, get_database_url, get_engine, tenant_tx
from lib.db.logins import login_url
from lib.db.migrate import migrate, migration_files
from lib.db.tenants import ensure_tenant
from lib.db.urls import mask, normalise, to_dsn, with_database

__all__ = [
    "dispose_engines",
    "ensure_tenant",
    "get_database_url",
    "get_engine",
    "login_url",
    "mask",
    "migrate",
    "migration_files",
    "normalise",
    "tenant_tx",
    "to_dsn",
    "with_database",
]
