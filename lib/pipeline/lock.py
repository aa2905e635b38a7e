"""One run per tenant: a session-level PostgreSQL advisory lock on a dedicated connection.

The key is two int4s: a constant for "pipeline run" and 31 bits of md5(tenant id) (the same as the SQL
function `ops.run_lock_key`, which the reaper uses), so `pg_locks` tells whether a tenant's lock is
held without taking it. The lock is taken on a pipeline-login connection, checked on a reader's.
"""

from __future__ import annotations

import hashlib

import psycopg2

from lib.db import login_url, to_dsn

LOCK_CLASS = 0x0B1_0001  # "bi pipeline run" (int4, positive so pg_locks.classid reads back the same)


class RunLocked(RuntimeError):
    """Another run of the tenant holds the lock (or is queued/running)."""

    def __init__(self, tenant_id: str, detail: str = "") -> None:
        self.tenant_id = tenant_id
        msg = f"another pipeline run of tenant {tenant_id!r} is in progress"
        super().__init__(f"{msg} ({detail})" if detail else msg)


def lock_key(tenant_id: str) -> tuple[int, int]:
    """The advisory-lock key of a tenant: (class, positive int4 from a hash of the tenant id)."""
    digest = hashlib.md5(tenant_id.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return LOCK_CLASS, int(digest, 16) & 0x7FFF_FFFF


def _connect(url: str | None, role: str):
    conn = psycopg2.connect(to_dsn(login_url(role, url)), application_name="indigitall-bi:run-lock")
    conn.autocommit = True
    return conn


class TenantLock:
    """Held for the whole run: `acquire()` (non-blocking, raises RunLocked) ... `release()`."""

    def __init__(self, tenant_id: str, url: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.url = url
        self._conn = None

    def acquire(self) -> TenantLock:
        """Take the lock or raise RunLocked at once."""
        conn = _connect(self.url, "pipeline")
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", lock_key(self.tenant_id))
            got = cur.fetchone()[0]
        if not got:
            conn.close()
            raise RunLocked(self.tenant_id)
        self._conn = conn
        return self

    def release(self) -> None:
        """Unlock and close the dedicated connection (closing alone would release it too)."""
        if self._conn is None:
            return
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(self.tenant_id))
        except psycopg2.Error:
            pass
        finally:
            self._conn.close()
            self._conn = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._conn is not None and not self._conn.closed

    def __enter__(self) -> TenantLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(tenant_id: str, url: str | None = None, role: str = "app") -> bool:
    """True when some session holds the tenant's run lock (reads pg_locks; takes nothing)."""
    cls, obj = lock_key(tenant_id)
    conn = _connect(url, role)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = %s::oid AND objid = %s::oid AND objsubid = 2)",
                (cls, obj),
            )
            return bool(cur.fetchone()[0])
    finally:
        conn.close()
