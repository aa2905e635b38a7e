"""Engines per login and the one way to touch tenant data: `tenant_tx`.

Each role connects with its own login (`lib.db.logins`): `owner` (DATABASE_URL: migrations, `bi
users`), `app`, `analyst`, `pipeline`, `dbt`; the old names `loader` (= pipeline) and `reader` (= app)
keep working. No connection switches role: what a login may do is what its grants say.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from sqlalchemy import Connection, Engine, create_engine, event, text

from lib.config import ConfigError, get_settings
from lib.db.logins import any_url_configured, canonical, login_url
from lib.db.urls import normalise

Role = Literal["owner", "app", "analyst", "pipeline", "dbt", "loader", "reader"]

_engines: dict[tuple[str, str, int], Engine] = {}
_lock = threading.Lock()


def get_database_url() -> str:
    """DATABASE_URL when set, else the embedded server's application database (started if needed)."""
    configured = get_settings().database_url
    if configured is not None:
        return normalise(configured.get_secret_value()).render_as_string(hide_password=False)
    if any_url_configured():
        raise ConfigError(
            "DATABASE_URL is not set: it is the owner's login, for `bi db migrate` and `bi users` only; "
            "the other processes connect with their own *_DATABASE_URL"
        )
    from lib.db.embedded import ensure_database

    return ensure_database()


def get_engine(role: Role = "owner", url: str | None = None) -> Engine:
    """A pooled engine logged in as `role`'s own login; `url` picks another database (tests)."""
    kind = canonical(role)
    url = login_url(kind, url)
    key = (url, kind, os.getpid())  # a forked process must not share pooled sockets
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(
                normalise(url),
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args={"application_name": f"indigitall-bi:{kind}"},
            )

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn, _record):
                with dbapi_conn.cursor() as cur:
                    cur.execute("SET TIME ZONE 'UTC'")
                dbapi_conn.commit()

            _engines[key] = engine
    return engine


def dispose_engines(close: bool = True) -> None:
    """Close every pooled connection (tests switching databases). `close=False` in a forked child:
    forget the parent's connections without touching them (they stay the parent's)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()


@contextmanager
def tenant_tx(tenant_id: str, role: Role = "pipeline", url: str | None = None) -> Iterator[Connection]:
    """One transaction scoped to a tenant: `app.tenant_id` is set for it (RLS), committed on success."""
    if not tenant_id or not isinstance(tenant_id, str):
        raise ValueError("tenant_tx needs a tenant id")
    with get_engine(role, url).begin() as conn:
        # SET LOCAL (= set_config(..., true)); Citus forwards it to the workers, where the policies run
        conn.execute(text("SET LOCAL app.tenant_id = :t"), {"t": tenant_id})
        yield conn
