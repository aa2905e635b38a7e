"""One run per tenant, one batch at a time: session-level PostgreSQL advisory locks on a dedicated
connection.

A tenant's key is two int4s: a constant for "pipeline run" and 31 bits of md5(tenant id) (the same as
the SQL function `ops.run_lock_key`, which the reaper uses), so `pg_locks` tells whether a tenant's
lock is held without taking it. The batch lock (`BATCH_KEY`) is one key for every batch. Locks are
taken on a pipeline-login connection, checked on a reader's.
"""

from __future__ import annotations

import hashlib

import psycopg2

from lib.db import login_url, to_dsn

LOCK_CLASS = 0x0B1_0001  # "bi pipeline run" (int4, positive so pg_locks.classid reads back the same)
BATCH_KEY = (0x0B1_0003, 1)  # "bi pipeline batch": one `bi run --all-tenants` at a time


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


class BatchLocked(RuntimeError):
    """Another batch holds the batch lock (or is queued)."""

    def __init__(self, batch_id: str | None = None, detail: str = "") -> None:
        self.batch_id = batch_id
        msg = "another batch of tenants is in progress" + (f" ({batch_id})" if batch_id else "")
        super().__init__(f"{msg}: {detail}" if detail else msg)


class TenantLock:
    """Held for the whole run: `acquire()` (non-blocking, raises RunLocked) ... `release()`."""

    def __init__(self, tenant_id: str, url: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.url = url
        self._conn = None

    @property
    def key(self) -> tuple[int, int]:
        return lock_key(self.tenant_id)

    def _refused(self) -> Exception:
        return RunLocked(self.tenant_id)

    def acquire(self) -> TenantLock:
        """Take the lock or raise at once (RunLocked; BatchLocked for the batch lock)."""
        conn = _connect(self.url, "pipeline")
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key)
            got = cur.fetchone()[0]
        if not got:
            conn.close()
            raise self._refused()
        self._conn = conn
        return self

    def release(self) -> None:
        """Unlock and close the dedicated connection (closing alone would release it too)."""
        if self._conn is None:
            return
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", self.key)
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


class BatchLock(TenantLock):
    """The batch lock, held by a `bi run --all-tenants` process for its whole life."""

    def __init__(self, url: str | None = None) -> None:
        super().__init__("", url)

    @property
    def key(self) -> tuple[int, int]:
        return BATCH_KEY

    def _refused(self) -> Exception:
        return BatchLocked()


def is_locked(tenant_id: str, url: str | None = None, role: str = "app") -> bool:
    """True when some session holds the tenant's run lock (reads pg_locks; takes nothing)."""
    return key_held(lock_key(tenant_id), url, role)


def batch_locked(url: str | None = None, role: str = "app") -> bool:
    """True when a batch process holds the batch lock."""
    return key_held(BATCH_KEY, url, role)


def key_held(key: tuple[int, int], url: str | None = None, role: str = "app") -> bool:
    """True when some session holds the advisory lock `key` (reads pg_locks; takes nothing)."""
    cls, obj = key
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
