"""docker-compose.yml: valid against the compose specification, every variable documented in .env.example,
no secrets or deployment literals, the services the data model's infrastructure names, healthchecks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")
OLD_DEPLOYMENT = (
    "34.151.199.149",
    "abstractstudio",
    "trax-report-automation",
    "southamerica-east1",
    "100274",
)
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|KEY$)")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, int]:
    """Variable → line number in .env.example."""
    out = {}
    for i, line in enumerate(ENV_EXAMPLE.read_text().splitlines()):
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=", line)
        if m:
            out[m.group(1)] = i
    return out


def test_compose_validates_against_the_compose_spec() -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(VAR.findall(COMPOSE.read_text()))
    documented = env_example()
    assert used, "compose uses no variables?"
    assert sorted(used - set(documented)) == []
    lines = ENV_EXAMPLE.read_text().splitlines()
    for name, i in documented.items():  # each setting has a comment right above it (or above its group)
        above = [ln for ln in lines[max(0, i - 3) : i] if ln.startswith("#")]
        assert above, f"{name} has no comment in .env.example"
    for name, i in documented.items():
        if SECRET_NAMES.search(name) and name not in ("PGRST_DB_MAX_ROWS",):
            assert lines[i] == f"{name}=", f"{name} must be empty in .env.example"


def test_no_secret_or_deployment_literal_in_compose() -> None:
    text = COMPOSE.read_text()
    for literal in OLD_DEPLOYMENT:
        assert literal not in text
    for name, svc in compose()["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if SECRET_NAMES.search(key) and key not in ("N8N_BLOCK_ENV_ACCESS_IN_NODE",):
                assert isinstance(value, str) and VAR.search(value), f"{name}.{key} must come from .env"
        for key, value in env.items():
            if isinstance(value, str) and "://" in value:
                assert "@" not in value or "${" in value.split("@")[0], f"{name}.{key}: credentials in a URL"


def test_services_of_the_infrastructure() -> None:
    services = compose()["services"]
    expected = {
        "db",
        "migrate",
        "postgrest",
        "kong",
        "meta",
        "studio",
        "dash",
        "voila",
        "lab",
        "n8n",
        "caddy",
    }
    assert expected <= set(services)
    assert services["postgrest"]["environment"]["PGRST_DB_SCHEMAS"] == "api"
    assert services["postgrest"]["environment"]["PGRST_DB_ANON_ROLE"] == "web_anon"
    assert "dash_app" not in services["dash"]["command"] and services["dash"]["command"][:3] == [
        "bi",
        "serve",
        "dash",
    ]
    assert services["voila"]["command"][:3] == ["bi", "serve", "voila"]
    assert services["lab"]["command"][:3] == ["bi", "serve", "lab"]
    assert services["n8n"]["environment"]["BI_BASE_URL"] == "http://dash:8050"
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"caddy"}  # everything else is reached through Caddy
    for name in ("db", "dash", "voila", "lab", "kong", "studio", "n8n", "caddy"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ("dash", "voila", "lab"):
        assert services[name]["image"] == services["migrate"]["image"]  # one image, different commands
    vols = compose()["volumes"]
    assert {"db-data", "n8n-data", "caddy-data", "runs"} <= set(vols)


@pytest.mark.parametrize(
    "path",
    [
        "deploy/Caddyfile",
        "deploy/kong.yml",
        "Dockerfile",
        ".env.example",
        "deploy/remote-deploy.sh",
        "deploy/initdb/90-bi-authenticator.sh",
    ],
)
def test_deploy_files_hold_no_old_deployment_literal(path: str) -> None:
    text = (ROOT / path).read_text()
    for literal in OLD_DEPLOYMENT:
        assert literal not in text, f"{path}: {literal}"


def test_caddyfile_uses_no_literal_domain() -> None:
    text = (ROOT / "deploy/Caddyfile").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    sites = [
        ln.strip()[:-1].strip()
        for ln in code.splitlines()
        if ln.strip().endswith("{") and not ln.startswith(("\t", " ")) and ln.strip() != "{"
    ]
    assert sites, "no site blocks"
    for site in sites:
        assert site.startswith("(") or re.fullmatch(r"\{\$[A-Z0-9_]+\}", site), (
            f"literal site address: {site}"
        )
    assert not re.search(r"\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|co|net|org|io|dev|app)\b", code)
    assert "{$DASH_DOMAIN}" in code and "{$ACME_EMAIL}" in code
    services = set(compose()["services"])
    for target in re.findall(r"reverse_proxy\s+([a-z0-9_-]+):\d+", code):
        assert target in services


def test_kong_config_parses_and_holds_no_key() -> None:
    doc = yaml.safe_load((ROOT / "deploy/kong.yml").read_text())
    keys = [c["keyauth_credentials"][0]["key"] for c in doc["consumers"]]
    assert keys == ["$SUPABASE_ANON_KEY", "$SUPABASE_SERVICE_KEY"]
    urls = {s["name"]: s["url"] for s in doc["services"]}
    assert urls["rest-v1"] == "http://postgrest:3000/"


def test_dockerfile_is_one_image_without_secrets() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") == 1
    assert not re.search(r"^(ENV|ARG)\s+.*(PASSWORD|TOKEN|SECRET|SERVER_KEY)", text, re.M)
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignore and ".venv" in ignore and ".data" in ignore
