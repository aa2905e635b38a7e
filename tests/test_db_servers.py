"""The embedded server's life cycle through the real `bi` command, and the SQL on PostgreSQL 15."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from lib.db import get_engine, migrate, tenant_tx
from lib.db.pgcluster import PG15_BIN, local_cluster


def _bi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )


def _postmaster_pid(data: Path) -> int | None:
    pidfile = data / "postgres" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else None


@pytest.mark.slow  # a second embedded server started and stopped: ~20 s
def test_embedded_server_starts_is_reused_and_stops(tmp_path: Path) -> None:
    data = Path(tempfile.mkdtemp(prefix="bi-emb-", dir="/tmp"))  # short path: unix socket limit
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}  # owner's and logins
    env.update(
        BI_DATA_DIR=str(data),
        PIPELINE_API_TOKEN="tok-should-not-print",
        TENANTS_FILE=str(tmp_path / "none.yml"),
    )
    try:
        first = _bi("db", "up", env=env)
        assert first.returncode == 0, first.stderr
        assert (
            "migrations applied: 001_schemas_roles, 002_raw, 003_public, 004_ops_ledger, 005_rls_helper_by_oid"
            in first.stdout
        )
        assert "indigitall_bi" in first.stdout
        # the generated logins: URLs printed with the password hidden, passwords kept owner-only
        store = json.loads((data / "logins" / "logins.json").read_text())
        assert (data / "logins" / "logins.json").stat().st_mode & 0o077 == 0
        for kind, var in (("app", "APP"), ("analyst", "ANALYST"), ("pipeline", "PIPELINE"), ("dbt", "DBT")):
            assert (
                f"{var}_DATABASE_URL=postgresql+psycopg2://{store[kind]['user']}:***@/indigitall_bi"
                in first.stdout
            )
            assert store[kind]["password"] not in first.stdout + first.stderr
        pid = _postmaster_pid(data)
        assert pid is not None and Path(f"/proc/{pid}").exists()

        second = _bi("db", "up", env=env)  # reuses the running server, nothing to migrate
        assert second.returncode == 0, second.stderr
        assert "none (schema is current)" in second.stdout
        assert json.loads((data / "logins" / "logins.json").read_text()) == store  # same logins
        assert "login bi_app_login unchanged" in second.stdout
        assert _postmaster_pid(data) == pid
        assert "running" in _bi("db", "status", env=env).stdout

        down = _bi("db", "down", env=env)
        assert down.returncode == 0 and "stopped" in down.stdout
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
        assert "stopped" in _bi("db", "status", env=env).stdout
        assert "not running" in _bi("db", "down", env=env).stdout
    finally:
        _bi("db", "down", env=env)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def pg15_url() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster run as the `postgres` user (those binaries refuse root)."""
    if not (PG15_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 binaries not installed")
    with local_cluster("bi-pg15") as cluster:
        yield cluster.url()


@pytest.fixture
def pg15_logins(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Login URLs set for the test only (the settings are re-read afterwards)."""
    from lib.config import reload_settings

    yield monkeypatch
    monkeypatch.undo()
    reload_settings()


@pytest.mark.pg15
def test_migrations_rls_and_append_only_on_postgres_15(
    pg15_url: str, pg15_logins: pytest.MonkeyPatch
) -> None:
    from lib.config import reload_settings
    from lib.db import with_database

    for var, user in (("APP_DATABASE_URL", "t15_app"), ("ANALYST_DATABASE_URL", "t15_analyst"),
                      ("PIPELINE_DATABASE_URL", "t15_pipeline"), ("DBT_DATABASE_URL", "t15_dbt")):  # fmt: skip
        pg15_logins.setenv(
            var, with_database(pg15_url, "postgres").replace("postgres@", f"{user}:pw-{user}@", 1)
        )
    reload_settings()
    applied = migrate(pg15_url)
    assert "003_public" in applied and migrate(pg15_url) == []
    with get_engine("owner", pg15_url).connect() as conn:
        assert conn.execute(text("SHOW server_version_num")).scalar().startswith("15")
    with tenant_tx("t15a", "loader", pg15_url) as conn:
        conn.execute(text("INSERT INTO public.messages (tenant_id, message_id) VALUES ('t15a', '1')"))
        conn.execute(
            text(
                "INSERT INTO raw.raw_chat_stats (tenant_id, endpoint, source_data) "
                "VALUES ('t15a', '/v1/chat/channel', '{}')"
            )
        )
    with tenant_tx("t15b", "reader", pg15_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM public.messages")).scalar() == 0
    with tenant_tx("t15a", "reader", pg15_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM public.messages")).scalar() == 1
    with pytest.raises(Exception, match="append-only"):
        with tenant_tx("t15a", "owner", pg15_url) as conn:
            conn.execute(text("DELETE FROM raw.raw_chat_stats"))
