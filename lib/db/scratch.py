"""Scratch databases on the same server: tests, benchmarks and screenshot runs use them, never the
main database. Created empty (or from a template), migrated on request, dropped with their dbt folder.

While the block runs, DATABASE_URL and every login URL (APP_/ANALYST_/PIPELINE_/DBT_DATABASE_URL)
point at the scratch database, so child processes connect to it with the right login too: the
embedded server's generated logins, or the logins the environment already names (same server)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import psycopg2

from lib.db.urls import to_dsn, with_database


def _admin(server_url: str):
    conn = psycopg2.connect(to_dsn(with_database(server_url, "postgres")))
    conn.autocommit = True
    return conn


def _server_url(server_url: str | None) -> str:
    if server_url:
        return server_url
    from lib.db.embedded import server_uri

    return server_uri("postgres")


def create_database(name: str, server_url: str | None = None, *, template: str | None = None) -> str:
    """CREATE DATABASE `name` (optionally from a template); return its URL."""
    server_url = _server_url(server_url)
    conn = _admin(server_url)
    try:
        with conn.cursor() as cur:
            suffix = f' TEMPLATE "{template}"' if template else ""
            cur.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        conn.close()
    return with_database(server_url, name)


def drop_database(name: str, server_url: str | None = None) -> None:
    """Drop `name` (closing our pooled connections first) and its dbt working folder."""
    from lib.config import get_settings
    from lib.db.engine import dispose_engines

    dispose_engines()
    conn = _admin(_server_url(server_url))
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()
    shutil.rmtree(get_settings().data_dir / "dbt" / name, ignore_errors=True)


def login_env(url: str) -> dict[str, str]:
    """The login URLs (setting name -> URL) that reach database `url`, for the logins that exist."""
    from lib.config import ConfigError
    from lib.db.logins import KINDS, login_url

    env: dict[str, str] = {}
    for spec in KINDS.values():
        try:
            env[spec.env] = login_url(spec.kind, url)
        except ConfigError:
            continue  # an external server without this login: processes needing it say so
    return env


@contextmanager
def scratch_database(
    prefix: str = "bi_scratch",
    *,
    server_url: str | None = None,
    migrate: bool = True,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """A new database that DATABASE_URL (plus `env`) points at until the block ends, then dropped."""
    from lib.config import reload_settings
    from lib.db.logins import KINDS
    from lib.db.migrate import migrate as apply_migrations

    name = f"{prefix}_{secrets.token_hex(4)}"
    url = create_database(name, server_url)
    overrides = {"DATABASE_URL": url, **(env or {})}
    old = {k: os.environ.get(k) for k in [*overrides, *(k.env for k in KINDS.values())]}
    os.environ.update(overrides)
    reload_settings()
    try:
        if migrate:
            apply_migrations(url)
        os.environ.update(login_env(url))
        reload_settings()
        yield url
    finally:
        drop_database(name, server_url or url)  # while the block's settings (data dir) still apply
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reload_settings()
