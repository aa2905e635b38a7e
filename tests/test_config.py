"""Settings: contract names, tenants.yml, and secrets that never show."""

from __future__ import annotations

import logging
import os

import pytest

from lib.config import ConfigError, Settings, get_tenant, load_tenants, secret_values

KEY = "0f8c2a5e-6b7d-4c1e-9a3f-5d2b8e7c1a90"
TOKEN = "pipeline-token-Zx81Qw"
DB_PW = "s3cr3t-db-pass"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env / tenants.yml from the checkout
    for var in (
        "DATABASE_URL",
        "INDIGITALL_BASE_URL",
        "INDIGITALL_APP_ID",
        "TENANT_ID",
        "TENANT_TIMEZONE",
        "RUNS_DIR",
        "TENANTS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("INDIGITALL_SERVER_KEY", KEY)
    monkeypatch.setenv("PIPELINE_API_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bi:{DB_PW}@db.example:5432/bi")
    monkeypatch.setenv("TENANTS_FILE", str(tmp_path / "tenants.yml"))
    return monkeypatch


def test_contract_names_and_defaults(env) -> None:
    env.setenv("INDIGITALL_APP_ID", "100274")
    env.setenv("TENANT_ID", "visionamos")
    s = Settings()
    assert s.indigitall_base_url == "https://am1.api.indigitall.com"
    assert s.tenant_timezone == "America/Bogota"
    assert str(s.runs_dir) == "runs"
    assert s.indigitall_app_id == "100274" and s.tenant_id == "visionamos"
    assert s.indigitall_server_key.get_secret_value() == KEY


def test_secrets_never_in_repr_str_or_logs(env, caplog: pytest.LogCaptureFixture) -> None:
    s = Settings()
    rendered = [repr(s), str(s), repr(s.model_dump()), str(s.model_dump())]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s / %r", s, s)
    rendered.append(caplog.text)
    for text in rendered:
        for secret in (KEY, TOKEN, DB_PW):
            assert secret not in text


def test_secret_values_lists_every_secret(env) -> None:
    from lib.config import reload_settings

    signing_key = "dash-signing-key-" + "9f" * 16
    env.setenv("DASH_SECRET_KEY", signing_key)
    reload_settings()
    try:
        values = secret_values()
    finally:
        env.undo()
        reload_settings()
    assert KEY in values and TOKEN in values and DB_PW in values and signing_key in values


def test_secret_values_include_the_generated_signing_key(env, tmp_path) -> None:
    """Without DASH_SECRET_KEY the dashboards generate one under BI_DATA_DIR: it is scanned for too."""
    from dash_app.security import secret_key
    from lib.config import reload_settings

    env.delenv("DASH_SECRET_KEY", raising=False)
    env.setenv("BI_DATA_DIR", str(tmp_path / "data"))
    reload_settings()
    try:
        before = secret_values()
        generated = secret_key()
        after = secret_values()
    finally:
        env.undo()
        reload_settings()
    assert len(generated) >= 32 and generated not in before and generated in after


def test_single_tenant_from_env(env) -> None:
    env.setenv("TENANT_ID", "coop1")
    env.setenv("INDIGITALL_APP_ID", "100274, 100275")
    env.setenv("TENANT_TIMEZONE", "America/Lima")
    [t] = load_tenants(Settings())
    assert (t.id, t.application_ids, t.timezone) == ("coop1", ("100274", "100275"), "America/Lima")
    assert t.server_key().get_secret_value() == KEY
    assert KEY not in repr(t)


def test_tenants_yml(env, tmp_path) -> None:
    (tmp_path / "tenants.yml").write_text(
        "tenants:\n"
        "  - id: visionamos\n    name: Visionamos\n    application_ids: [100274]\n"
        "    timezone: America/Bogota\n    server_key_env: KEY_VISIONAMOS\n"
        "  - id: coopeu\n    name: Coop EU\n    base_url: https://eu1.api.indigitall.com\n"
        "    application_ids: ['200001', '200002']\n    timezone: Europe/Madrid\n"
        "    server_key_env: KEY_COOPEU\n",
        encoding="utf-8",
    )
    env.setenv("KEY_COOPEU", "eu-key-123456")
    s = Settings()
    tenants = load_tenants(s)
    assert [t.id for t in tenants] == ["visionamos", "coopeu"]
    eu = get_tenant("coopeu", s)
    assert eu.base_url == "https://eu1.api.indigitall.com"
    assert eu.application_ids == ("200001", "200002") and eu.timezone == "Europe/Madrid"
    assert eu.server_key().get_secret_value() == "eu-key-123456"
    assert get_tenant("visionamos", s).server_key() is None  # KEY_VISIONAMOS unset
    with pytest.raises(ConfigError, match="unknown tenant 'nope'"):
        get_tenant("nope", s)


def test_bad_timezone_is_a_clear_error(env) -> None:
    env.setenv("TENANT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Settings()


def test_demo_pipeline_token_goes_to_an_owner_only_file_never_to_the_output(env, tmp_path, capsys) -> None:
    import stat

    from lib.config import reload_settings
    from lib.demo import demo_pipeline_token

    env.delenv("PIPELINE_API_TOKEN")
    env.setenv("BI_DATA_DIR", str(tmp_path / "data"))
    reload_settings()
    hint = demo_pipeline_token()
    path = tmp_path / "data" / "demo_pipeline_token"
    token = path.read_text()
    assert len(token) >= 32 and os.environ["PIPELINE_API_TOKEN"] == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hint == f"$(cat {path})" and token not in hint and token not in capsys.readouterr().out
    assert demo_pipeline_token() == "$PIPELINE_API_TOKEN"  # a token already set is kept as is
    assert os.environ["PIPELINE_API_TOKEN"] == token
    reload_settings()
