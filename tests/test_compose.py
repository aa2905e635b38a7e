"""docker-compose.yml: valid against the compose specification and through Debian's docker-compose v1,
every variable documented in .env.example, no secrets or deployment literals, the services the data
model's infrastructure names, one database login per process, image pins equal to what the stack test
runs; the Caddyfile's sign-in gates and kong.yml without a public postgres-meta route."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from stack_harness import compose_config, filled_env_example, versions

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
    assert "BI_BASE_URL" not in services["n8n"]["environment"]  # the workflows read no environment
    assert services["n8n"]["environment"]["N8N_BLOCK_ENV_ACCESS_IN_NODE"] == "true"
    assert services["n8n-import"]["profiles"] == ["setup"]
    assert services["n8n-import"]["entrypoint"] == ["/bin/sh", "/opt/bi-n8n/import.sh"]
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
        "deploy/initdb/20-bi-owner.sh",
        "deploy/caddy/loopback.caddy",
        "deploy/n8n/import.sh",
        "deploy/n8n/configure.mjs",
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
    upstreams = re.findall(
        r"(?:reverse_proxy|forward_auth)\s+\{\$([A-Z0-9]+)_UPSTREAM:([a-z0-9_-]+):\d+\}", code
    )
    assert len(upstreams) >= 8
    for var, target in upstreams:
        assert target in services and {"API": "kong"}.get(var, var.lower()) == target, (var, target)
    assert not re.search(r"(reverse_proxy|forward_auth)\s+[a-z]", code)  # every address overridable


def _sites(code: str) -> dict[str, str]:
    """Site address → its block, for the top-level blocks of a Caddyfile."""
    out, name, depth, body = {}, None, 0, []
    for line in code.splitlines():
        if depth == 0 and line.rstrip().endswith("{") and not line.startswith(("\t", " ")):
            name, body = line.rstrip()[:-1].strip(), []
        elif name is not None:
            body.append(line)
        depth += line.count("{") - line.count("}") - line.count("{$") + line.count("{$")
        if depth == 0 and name is not None and line.strip() == "}":
            out[name], name = "\n".join(body), None
    return out


def test_caddyfile_gates_voila_lab_and_studio_behind_the_dashboard_sign_in() -> None:
    text = (ROOT / "deploy/Caddyfile").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    sites = _sites(code)
    snippet = {"(signed_in)": "/auth/verify\n", "(admin_only)": "/auth/verify?role=admin\n"}
    for name, uri in snippet.items():
        assert (
            f"uri {uri.strip()}" in sites[name]
            and "copy_headers X-BI-User X-BI-Role X-BI-Tenant" in sites[name]
        )
    gates = {site: [s for s in snippet if f"import {s[1:-1]}" in body] for site, body in sites.items()}
    assert gates["{$VOILA_DOMAIN}"] == ["(signed_in)"]
    assert gates["{$LAB_DOMAIN}"] == gates["{$STUDIO_DOMAIN}"] == ["(admin_only)"]
    assert gates["{$DASH_DOMAIN}"] == gates["{$API_DOMAIN}"] == gates["{$N8N_DOMAIN}"] == []
    assert "basic_auth" not in code  # one identity: no shared password in front of anything
    api = sites["{$API_DOMAIN}"]
    assert re.search(r"handle /pg/\*\s*\{\s*respond 404", api) and api.index("/pg/") < api.index(
        "reverse_proxy"
    )
    global_block = code[code.index("{\n") : code.index("\n}\n")]  # the first block: global options
    assert "import {$CADDY_GLOBAL_OPTIONS:/etc/caddy/global.d/*.caddy}" in global_block


def test_kong_config_parses_and_holds_no_key() -> None:
    doc = yaml.safe_load((ROOT / "deploy/kong.yml").read_text())
    assert doc["_format_version"] == "3.0"  # Kong 3.x
    keys = [c["keyauth_credentials"][0]["key"] for c in doc["consumers"]]
    assert keys == ["$SUPABASE_ANON_KEY", "$SUPABASE_SERVICE_KEY"]
    urls = {s["name"]: s["url"] for s in doc["services"]}
    assert urls == {"rest-v1": "http://postgrest:3000/"}  # postgres-meta (/pg/) is not routed
    paths = [p for s in doc["services"] for r in s.get("routes", []) for p in r["paths"]]
    assert paths == ["/rest/v1/"]


ENV_OVERRIDES = {
    "ACME_EMAIL": "ops@example.com", "DASH_COOKIE_DOMAIN": ".example.com", "DASH_DOMAIN": "bi.example.com",
    "N8N_DOMAIN": "n8n.example.com", "STUDIO_DOMAIN": "studio.example.com", "API_DOMAIN": "api.example.com",
    "VOILA_DOMAIN": "voila.example.com", "LAB_DOMAIN": "lab.example.com", "INDIGITALL_APP_ID": "100274",
    "DATABASE_URL": "", "APP_DATABASE_URL": "", "ANALYST_DATABASE_URL": "", "PIPELINE_DATABASE_URL": "",
    "DBT_DATABASE_URL": "",
}  # fmt: skip
needs_v1 = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="Debian's docker-compose (make test-deps)"
)


@needs_v1
def test_docker_compose_v1_normalises_the_file_without_warnings(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(filled_env_example(ENV_OVERRIDES))
    doc, stderr = compose_config(env)
    assert stderr.strip() == ""
    assert set(doc["services"]) == set(compose()["services"])
    assert "name" not in compose()  # v1 rejects a top-level name: the project name is COMPOSE_PROJECT_NAME
    assert "COMPOSE_PROJECT_NAME=indigitall-bi" in ENV_EXAMPLE.read_text().splitlines()
    dash = doc["services"]["dash"]["environment"]
    assert (
        dash["APP_DATABASE_URL"].startswith("postgresql://bi_app_login:")
        and dash["DASH_COOKIE_DOMAIN"] == ".example.com"
    )


@needs_v1
def test_docker_compose_v1_stops_on_a_missing_secret(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(filled_env_example({**ENV_OVERRIDES, "POSTGRES_PASSWORD": ""}))
    with pytest.raises(RuntimeError, match="set POSTGRES_PASSWORD in .env"):
        compose_config(env)


def test_each_process_gets_only_its_database_login_and_secrets() -> None:
    services = compose()["services"]
    env = {name: set(svc.get("environment") or {}) for name, svc in services.items()}
    with_owner = {name for name, keys in env.items() if "DATABASE_URL" in keys}
    assert with_owner == {"migrate"}  # the owner's URL reaches no serving process
    assert {"APP_DATABASE_URL", "ANALYST_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"} <= env[
        "migrate"
    ]
    assert {"APP_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"} <= env["dash"]
    assert "ANALYST_DATABASE_URL" not in env["dash"]
    for name in ("voila", "lab"):
        assert {k for k in env[name] if k.endswith("DATABASE_URL")} == {"ANALYST_DATABASE_URL"}
        assert not env[name] & {"INDIGITALL_SERVER_KEY", "PIPELINE_API_TOKEN", "DASH_SECRET_KEY"}
        assert services[name]["environment"]["BI_AUTH_URL"] == "http://dash:8050/auth/verify"
    assert not env["studio"] & {"SUPABASE_SERVICE_KEY", "AUTH_JWT_SECRET", "PGRST_JWT_SECRET"}
    assert "PIPELINE_API_TOKEN" not in env["n8n"] and "PIPELINE_API_TOKEN" in env["n8n-import"]
    assert "N8N_ENCRYPTION_KEY" in env["n8n"]


def test_image_pins_are_the_versions_the_stack_test_runs() -> None:
    v = versions()
    text = COMPOSE.read_text()
    pins = {
        "docker.n8n.io/n8nio/n8n:${N8N_VERSION:-VALUE}": v["N8N_VERSION"],
        "caddy:${CADDY_VERSION:-VALUE}-alpine": v["CADDY_VERSION"],
        "supabase/postgres-meta:v${PG_META_VERSION:-VALUE}": v["PG_META_VERSION"],
        "${POSTGRES_IMAGE:-postgres:VALUE-bookworm}": v["POSTGRES_VERSION"],
    }
    for pattern, value in pins.items():
        assert pattern.replace("VALUE", value) in text, pattern
    example = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z0-9_]+=", line)
    )
    assert example["N8N_VERSION"] == v["N8N_VERSION"] and example["CADDY_VERSION"] == v["CADDY_VERSION"]
    assert example["PG_META_VERSION"] == v["PG_META_VERSION"]
    assert example["POSTGRES_IMAGE"] == f"postgres:{v['POSTGRES_VERSION']}-bookworm"
    for name, default in re.findall(r"\$\{([A-Z_]+_VERSION|[A-Z_]+_IMAGE):-([^}]+)\}", text):
        assert example[name] == default, name  # .env.example repeats the compose defaults
    n8n = tuple(int(x) for x in v["N8N_VERSION"].split("."))
    assert n8n[0] == 1 and n8n >= (1, 123, 64)  # past CVE-2025-68613 (< 1.123.0), CVE-2026-21858 (< 1.121.0)
    kong = tuple(int(x) for x in example["KONG_VERSION"].split("."))
    assert kong >= (3, 9, 1)  # 2.8 is out of support; 3.9 is the last open-source line
    assert tuple(int(x) for x in v["POSTGRES_VERSION"].split(".")) >= (15, 9)  # RLS / SET ROLE fixes of 15.9


def test_initdb_scripts_pass_no_password_on_a_command_line() -> None:
    for path in sorted((ROOT / "deploy/initdb").glob("*.sh")):
        text = path.read_text()
        assert "PASSWORD" in text and "\\getenv pw" in text, path.name
        assert not re.search(r"psql[^\n]*(-v\s+pw=|PASSWORD=)", text), path.name
        assert path.stat().st_mode & 0o111, (
            f"{path.name} must be executable (the entrypoint sources it otherwise)"
        )


def test_dockerfile_is_one_image_without_secrets() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") == 1
    assert not re.search(r"^(ENV|ARG)\s+.*(PASSWORD|TOKEN|SECRET|SERVER_KEY)", text, re.M)
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignore and ".venv" in ignore and ".data" in ignore
