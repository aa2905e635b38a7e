"""Shared fixtures: a fresh, migrated database per test session on the embedded PostgreSQL.

Tests never touch the developer's main database: `db_url` creates `bi_test_<hex>`, migrates it, points
DATABASE_URL at it for the whole session and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

# Jupyter tools write under $HOME: keep them in a scratch dir for the test session.
_scratch_home = Path(tempfile.mkdtemp(prefix="bi-test-home-"))
for _var, _sub in (
    ("JUPYTER_DATA_DIR", "jupyter-data"),
    ("IPYTHONDIR", "ipython"),
    ("JUPYTER_CONFIG_DIR", "jupyter-config"),
    ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
):
    os.environ.setdefault(_var, str(_scratch_home / _sub))
os.environ.setdefault("MPLCONFIGDIR", str(_scratch_home / "mpl"))


def _admin_conn(server_url: str):
    import psycopg2

    from lib.db.urls import to_dsn, with_database

    conn = psycopg2.connect(to_dsn(with_database(server_url, "postgres")))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server tests run against (embedded unless TEST_DATABASE_URL is set)."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return external
    from lib.db.embedded import server_uri

    return server_uri("postgres")


@contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    """A fresh migrated database that DATABASE_URL points at until the block ends (then dropped)."""
    from lib.config import get_settings, reload_settings
    from lib.db import dispose_engines, migrate
    from lib.db.urls import with_database

    name = f"bi_test_{secrets.token_hex(4)}"
    conn = _admin_conn(server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = with_database(server_url, name)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reload_settings()
    try:
        migrate(url)
        yield url
    finally:
        dispose_engines()
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        reload_settings()
        conn = _admin_conn(server_url)
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        shutil.rmtree(get_settings().data_dir / "dbt" / name, ignore_errors=True)


@pytest.fixture(scope="session")
def db_url(server_url: str) -> Iterator[str]:
    """A fresh migrated database for this test session; DATABASE_URL points at it."""
    with temporary_database(server_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(server_url: str) -> Iterator[str]:
    """A database of the module's own, for modules that load the demo tenant through the pipeline
    (they would otherwise collide with the session's seeded fixtures). Override `db_url` with it."""
    with temporary_database(server_url) as url:
        yield url


@pytest.fixture
def fresh_db_url(server_url: str) -> Iterator[str]:
    """An empty (unmigrated) database for one test; dropped afterwards."""
    from lib.db import dispose_engines
    from lib.db.urls import with_database

    name = f"bi_test_{secrets.token_hex(4)}"
    conn = _admin_conn(server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    try:
        yield with_database(server_url, name)
    finally:
        dispose_engines()
        conn = _admin_conn(server_url)
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def owner_engine(db_url: str):
    """Engine as the owner (superuser on the embedded server: bypasses RLS; use for setup only)."""
    from lib.db import get_engine

    return get_engine("owner", db_url)
