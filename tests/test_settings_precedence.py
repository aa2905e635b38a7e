"""One settings reader: process environment > `.env` > defaults; tenants.yml for per-tenant values.

Every reader of a setting goes through `lib.config` (`Settings`, `env_value`, `dotenv_values`), so a
value that is only in `.env` counts everywhere, and the environment always wins over it.
"""

from __future__ import annotations

import pytest

KEY_IN_DOTENV = "7d3f0c1e-2b4a-4e59-8c6d-1a2b3c4d5e6f"
KEY_IN_ENV = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """A working directory with a `.env` and a tenants.yml, and none of their variables exported."""
    from lib.config import reload_settings

    monkeypatch.chdir(tmp_path)
    for var in (
        "EXTRACT_CONCURRENCY",
        "EXTRACT_LOOKBACK_DAYS",
        "EXTRACT_BACKFILL_DAYS",
        "ACME_SERVER_KEY",
        "TENANT_TIMEZONE",
        "INDIGITALL_SERVER_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / ".env").write_text(
        "EXTRACT_CONCURRENCY=7\n"
        "EXTRACT_LOOKBACK_DAYS=5\n"
        f"ACME_SERVER_KEY={KEY_IN_DOTENV}\n"
        "TENANT_TIMEZONE=America/Lima\n",
        encoding="utf-8",
    )
    (tmp_path / "tenants.yml").write_text(
        "tenants:\n"
        "  - id: acme\n"
        "    server_key_env: ACME_SERVER_KEY\n"
        "  - id: beta\n"
        "    timezone: Europe/Madrid\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "tenants.yml"))
    reload_settings()
    yield monkeypatch
    reload_settings()


def test_dotenv_only_values_are_read(project) -> None:
    from lib.config import get_tenant
    from lib.extract.options import ExtractOptions

    opts = ExtractOptions.from_env()
    assert (opts.concurrency, opts.lookback_days) == (7, 5)  # from .env
    assert opts.backfill_days == ExtractOptions.backfill_days  # default: in neither
    key = get_tenant("acme").server_key()
    assert key is not None and key.get_secret_value() == KEY_IN_DOTENV
    # tenants.yml's per-tenant value beats the .env default; the .env default beats the built-in one
    assert get_tenant("beta").timezone == "Europe/Madrid"
    assert get_tenant("acme").timezone == "America/Lima"


def test_environment_beats_dotenv(project) -> None:
    from lib.config import get_tenant, reload_settings
    from lib.extract.options import ExtractOptions

    project.setenv("EXTRACT_CONCURRENCY", "3")
    project.setenv("ACME_SERVER_KEY", KEY_IN_ENV)
    project.setenv("TENANT_TIMEZONE", "America/Bogota")
    reload_settings()
    assert ExtractOptions.from_env().concurrency == 3
    assert ExtractOptions.from_env().lookback_days == 5  # still from .env
    assert get_tenant("acme").server_key().get_secret_value() == KEY_IN_ENV
    assert get_tenant("acme").timezone == "America/Bogota"


def test_served_apps_see_the_same_values(project) -> None:
    """`bi serve` passes `.env` to its child under the same precedence (the environment wins)."""
    from lib.serve import child_env

    env = child_env("dash", {"EXTRACT_CONCURRENCY": "2", "PATH": "/usr/bin"})
    assert env["EXTRACT_CONCURRENCY"] == "2"
    assert env["EXTRACT_LOOKBACK_DAYS"] == "5"


def test_a_secret_only_in_dotenv_is_in_the_leak_scan(project) -> None:
    from lib.config import secret_values

    assert KEY_IN_DOTENV in secret_values()


def test_an_exported_empty_value_means_the_default(project) -> None:
    """Set in the environment, even empty, beats `.env` (as pydantic-settings does for `Settings`)."""
    from lib.config import env_value
    from lib.extract.options import ExtractOptions

    project.setenv("EXTRACT_CONCURRENCY", "")
    assert ExtractOptions.from_env().concurrency == ExtractOptions.concurrency
    assert env_value("EXTRACT_CONCURRENCY", "d") == "d"
    assert env_value("EXTRACT_LOOKBACK_DAYS") == "5"


def test_a_steps_key_check_reads_the_settings_too(project) -> None:
    """`run_step`'s key check (lib.pipeline.nbstep) finds a tenant key that is only in `.env`, and still
    refuses a variable set nowhere (naming it, never a value)."""
    from lib.config import ConfigError
    from lib.pipeline.nbstep import check_secret_env

    check_secret_env("ACME_SERVER_KEY")  # only in .env
    with pytest.raises(ConfigError, match="NOWHERE_SERVER_KEY is not set"):
        check_secret_env("NOWHERE_SERVER_KEY")
    project.setenv("NOWHERE_SERVER_KEY", KEY_IN_ENV)
    check_secret_env("NOWHERE_SERVER_KEY")
