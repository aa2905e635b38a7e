"""Ordered plain-SQL migrations (`migrations/NNN_name.sql`), recorded in `ops.schema_migrations`.

Every file is written to be re-runnable (IF NOT EXISTS, CREATE OR REPLACE). A file already applied
with the same checksum is skipped; one whose text changed is applied again and its checksum updated.
An advisory lock serialises concurrent migrators.

After the files, every run re-applies the tenant keys and, on Citus, the tables' placement
(`lib.db.citus.apply_placement`: migrations 100-101), then `ops.apply_login_grants()` (migration 050: the login groups'
grants and the mart builder's policies on every table, including tables later files added) and then
creates or updates the application logins (`lib.db.logins.ensure_logins`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import text

from lib.db.citus import apply_placement, restrict_metadata
from lib.db.engine import get_database_url, get_engine
from lib.db.logins import LoginState, ensure_logins

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_KEY = 727_000_001
log = logging.getLogger(__name__)


def migration_files() -> list[Path]:
    """The migration files in apply order."""
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


def migrate(url: str | None = None, *, logins: list[LoginState] | None = None) -> list[str]:
    """Apply pending migrations, the login grants and the logins; return the migrations applied.

    `logins`, when given, receives what happened to each application login (for `bi db`).
    """
    url = url or get_database_url()
    applied: list[str] = []
    engine = get_engine("owner", url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            conn.execute(text("CREATE SCHEMA IF NOT EXISTS ops"))
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS ops.schema_migrations ("
                    " version TEXT PRIMARY KEY, checksum TEXT NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            )
            conn.commit()
            done = dict(conn.execute(text("SELECT version, checksum FROM ops.schema_migrations")).all())
            for path in migration_files():
                sql = path.read_text(encoding="utf-8")
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if done.get(path.stem) == checksum:
                    continue
                if path.stem in done:
                    log.warning("migration %s changed since it was applied; applying it again", path.name)
                try:
                    # the DBAPI cursor without parameters: the file may hold '%' (format()) freely
                    with conn.connection.dbapi_connection.cursor() as cur:
                        cur.execute(sql)
                    conn.execute(
                        text(
                            "INSERT INTO ops.schema_migrations (version, checksum) VALUES (:v, :c) "
                            "ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, "
                            "applied_at = now()"
                        ),
                        {"v": path.stem, "c": checksum},
                    )
                    conn.commit()
                except Exception as exc:
                    conn.rollback()
                    conn.connection.dbapi_connection.rollback()  # the file ran on the raw cursor
                    raise RuntimeError(f"migration {path.name} failed: {exc}") from exc
                applied.append(path.stem)
            try:
                apply_placement(conn)  # keys holding tenant_id everywhere; with Citus, the distribution
                conn.commit()
            except Exception as exc:
                conn.rollback()
                raise RuntimeError(f"placing the tenant tables failed: {exc}") from exc
            try:
                if conn.execute(text("SELECT to_regprocedure('ops.apply_login_grants()')")).scalar():
                    conn.execute(text("SELECT ops.apply_login_grants()"))
                    restrict_metadata(conn)  # Citus: its metadata views are not the data model
                conn.commit()
            except Exception as exc:
                conn.rollback()
                raise RuntimeError(f"re-applying the login grants failed: {exc}") from exc
            states = ensure_logins(url)
            if logins is not None:
                logins.extend(states)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
    return applied
