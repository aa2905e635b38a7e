"""Shared fixtures: a fresh, migrated database per test session on the embedded PostgreSQL.

Tests never touch the developer's main database: `db_url` creates `bi_test_<hex>`, migrates it, points
DATABASE_URL and the four login URLs (APP_/ANALYST_/PIPELINE_/DBT_DATABASE_URL: the embedded server's
generated logins, on that database) at it for the whole session and drops it at the end.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.db.scratch import scratch_database

# Fixtures shared across modules live in plugin modules, not in test modules importing each other:
# the dashboards' database/app/users (module-scoped) and the session's dbt build. Their constants and
# helpers (TENANT_A, Built, as_user, …) are still imported from them by name.
pytest_plugins = ["fixtures_dash", "fixtures_dbt"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `dbt` every test that needs the session's dbt build or runs dbt itself (tests/test_dbt.py),
    and `stack` the stack tests (tests/test_stack*.py): minutes each, so not in `make test-fast`."""
    for item in items:
        if "dbt_build" in getattr(item, "fixturenames", ()) or item.path.name == "test_dbt.py":
            item.add_marker(pytest.mark.dbt)
        if item.path.name.startswith("test_stack"):  # the production stack and its harness
            item.add_marker(pytest.mark.stack)


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
# Scheduled runs add the weekly report on Mondays (lib.report.schedule): not in tests that count steps.
os.environ.setdefault("BI_WEEKLY_REPORT", "off")
# Login URLs of the shell (another server) must not be carried over to the scratch databases; with an
# external TEST_DATABASE_URL they name the logins to use on it.
if not os.environ.get("TEST_DATABASE_URL"):
    for _var in ("APP_DATABASE_URL", "ANALYST_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"):
        os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server tests run against (embedded unless TEST_DATABASE_URL is set)."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return external
    from lib.db.embedded import server_uri

    return server_uri("postgres")


@pytest.fixture(scope="session")
def db_url(server_url: str) -> Iterator[str]:
    """A fresh migrated database for this test session; DATABASE_URL points at it."""
    with scratch_database("bi_test", server_url=server_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(server_url: str) -> Iterator[str]:
    """A database of the module's own, for modules that load the demo tenant through the pipeline
    (they would otherwise collide with the session's seeded fixtures). Override `db_url` with it."""
    with scratch_database("bi_test", server_url=server_url) as url:
        yield url


@pytest.fixture
def fresh_db_url(server_url: str) -> Iterator[str]:
    """An empty (unmigrated) database for one test; dropped afterwards."""
    with scratch_database("bi_test", server_url=server_url, migrate=False) as url:
        yield url


@pytest.fixture
def owner_engine(db_url: str):
    """Engine as the owner (superuser on the embedded server: bypasses RLS; use for setup only)."""
    from lib.db import get_engine

    return get_engine("owner", db_url)
