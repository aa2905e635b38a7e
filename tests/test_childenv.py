"""Child environments: each kind of process gets exactly its allow-list, checked by value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lib import childenv
from lib.config import reload_settings

SECRETS = {
    "DATABASE_URL": "postgresql://postgres:owner-pw-a1b2c3@db:5432/postgres",
    "APP_DATABASE_URL": "postgresql://bi_app:app-pw-d4e5f6@db:5432/postgres",
    "ANALYST_DATABASE_URL": "postgresql://bi_analyst:analyst-pw-0718@db:5432/postgres",
    "PIPELINE_DATABASE_URL": "postgresql://bi_pipeline:pipeline-pw-2939@db:5432/postgres",
    "DBT_DATABASE_URL": "postgresql://bi_dbt:dbt-pw-4a5b@db:5432/postgres",
    "PIPELINE_API_TOKEN": "api-token-6c7d8e9f",
    "DASH_SECRET_KEY": "dash-signing-key-" + "f" * 40,
    "KEY_COOP_A": "server-key-of-coop-a-1234",
    "JUPYTER_TOKEN": "jupyter-token-5566",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-7788",
    "GITHUB_TOKEN": "ghp-stray-token-99",
    "PGPASSWORD": "pg-password-1010",
    "SMTP_PASSWORD": "smtp-password-2020",
}
DOTENV_ONLY = {"KEY_COOP_B": "server-key-of-coop-b-from-dotenv"}  # a setting that only .env has
VALUES = {**SECRETS, **DOTENV_ONLY}

EXPECTED = {
    "dash": {"APP_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL", "ANALYST_DATABASE_URL",
             "PIPELINE_API_TOKEN", "DASH_SECRET_KEY", "KEY_COOP_A", "KEY_COOP_B", "AWS_SECRET_ACCESS_KEY",
             "SMTP_PASSWORD"},
    "voila": {"ANALYST_DATABASE_URL"},
    "lab": {"ANALYST_DATABASE_URL", "JUPYTER_TOKEN"},
    "run": {"PIPELINE_DATABASE_URL", "DBT_DATABASE_URL", "ANALYST_DATABASE_URL", "KEY_COOP_B",
            "AWS_SECRET_ACCESS_KEY", "SMTP_PASSWORD"},
    "kernel-extract": {"PIPELINE_DATABASE_URL", "KEY_COOP_B"},
    "kernel-transform": {"PIPELINE_DATABASE_URL"},
    "kernel-dbt": {"PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"},
    "kernel-report": {"ANALYST_DATABASE_URL", "SMTP_PASSWORD"},
    "dbt": {"DBT_DATABASE_URL"},
    "simulator": {"KEY_COOP_A", "KEY_COOP_B"},
}  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in list(os.environ):
        if name.endswith(("DATABASE_URL", "_TOKEN", "_KEY", "PASSWORD")):
            monkeypatch.delenv(name, raising=False)
    (tmp_path / "tenants.yml").write_text(
        "tenants:\n  - {id: coop_a, server_key_env: KEY_COOP_A}\n  - {id: coop_b, server_key_env: KEY_COOP_B}\n"
    )
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in DOTENV_ONLY.items()))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "tenants.yml"))
    monkeypatch.setenv("RUNS_DIR", "/srv/runs")
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    yield
    reload_settings()


def _secrets_in(env: dict[str, str]) -> set[str]:
    """Which planted secrets an environment holds, found by value (under any name)."""
    blob = "\n".join(env.values())
    return {name for name, value in VALUES.items() if value in blob}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_holds_exactly_its_secrets(env: None, kind: str) -> None:
    got = childenv.child_env(kind, tenant="coop_b")
    assert _secrets_in(got) == EXPECTED[kind]
    assert SECRETS["DATABASE_URL"] not in got.values() and "owner-pw-a1b2c3" not in "".join(got.values())
    assert got["PATH"] and got["PYTHONPATH"].startswith(str(childenv.PROJECT_ROOT))
    assert got.get("RUNS_DIR") == "/srv/runs"


def test_a_run_gets_only_its_tenants_key(env: None) -> None:
    a = childenv.child_env("run", tenant="coop_a")
    assert a["KEY_COOP_A"] == SECRETS["KEY_COOP_A"] and DOTENV_ONLY["KEY_COOP_B"] not in a.values()
    kernel_a = childenv.child_env("kernel-extract", tenant="coop_a")
    assert _secrets_in(kernel_a) == {"PIPELINE_DATABASE_URL", "KEY_COOP_A"}
    with pytest.raises(Exception, match="unknown tenant"):
        childenv.child_env("run", tenant="nobody")


def test_base_is_filtered_not_copied(env: None) -> None:
    got = childenv.child_env(
        "voila", base={"PATH": "/bin", "PIPELINE_API_TOKEN": "x-token-123456", "FOO": "1"}
    )
    assert "PIPELINE_API_TOKEN" not in got and "FOO" not in got and got["PATH"] == "/bin"
    assert "KEY_COOP_B" not in got  # a .env key only where the kind lists it


def test_kernels_and_served_apps_use_the_allow_list(env: None) -> None:
    from lib.pipeline.kernel import kernel_env
    from lib.serve import child_env as serve_env

    assert _secrets_in(kernel_env("extract", "coop_a")) == {"PIPELINE_DATABASE_URL", "KEY_COOP_A"}
    assert _secrets_in(kernel_env("transform", "coop_a")) == {"PIPELINE_DATABASE_URL"}
    assert _secrets_in(kernel_env("post", "coop_a")) == {"PIPELINE_DATABASE_URL"}
    assert _secrets_in(kernel_env("dbt", "coop_a")) == {"PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"}
    assert _secrets_in(serve_env("voila")) == {"ANALYST_DATABASE_URL"}
    assert _secrets_in(serve_env("dash")) == EXPECTED["dash"]


def test_dbt_env_adds_only_its_connection(env: None) -> None:
    from lib.dbt_runner import dbt_env

    got = dbt_env(SECRETS["DBT_DATABASE_URL"])
    assert got["BI_DB_USER"] == "bi_dbt" and got["BI_DB_PASSWORD"] == "dbt-pw-4a5b"
    assert _secrets_in(got) == {"DBT_DATABASE_URL"}


def test_no_kind_falls_back_to_the_owner(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any login URL set, no kind gets DATABASE_URL (they find their generated login instead)."""
    for k in ("APP_DATABASE_URL", "ANALYST_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"):
        monkeypatch.delenv(k)
    for kind in childenv.KINDS:
        got = childenv.child_env(kind, tenant="coop_a")
        assert "DATABASE_URL" not in got and SECRETS["DATABASE_URL"] not in got.values(), kind


def test_report_browser_gets_no_secret(env: None) -> None:
    """Chromium printing the weekly report gets neither a login, a key, nor the SMTP password."""
    got = childenv.child_env("browser", tenant="coop_a")
    assert _secrets_in(got) == set()
    assert "PATH" in got
