"""The production stack, run for real on loopback from the repository's own files (`make test-stack`).

docker-compose.yml is read through Debian's docker-compose v1 (`config`, with .env.example filled in);
each service then runs here as production runs it, with the compose network replaced by loopback ports
(tests/stack_harness.py):

- PostgreSQL 15 (Debian's, at the compose image's minor) with Supabase's role shape and the image's
  first-start scripts (deploy/initdb), then `bi db migrate` as `migrate` runs it (owner + logins);
- the simulator as the Indigitall API; gunicorn with the Dash app, Voila and JupyterLab (`bi serve`);
- Caddy at the compose pin with deploy/Caddyfile itself: only deploy/caddy/loopback.caddy (global
  options) and the *_UPSTREAM addresses differ; TLS from Caddy's internal CA for *.bi.localhost;
- postgres-meta (Studio's API) at the compose pin; n8n at the compose pin, set up by the README's
  `n8n-import` service (deploy/n8n/import.sh), with a real schedule firing through Caddy over HTTPS.

Not runnable here (Docker images only, no binary in a reachable registry): Kong, Studio's UI and
PostgREST. Their nearest real things: Caddy's rules in front of their addresses (Studio's and Kong's
upstreams point at postgres-meta, so a route that let a request through would reach real SQL),
deploy/kong.yml parsed (tests/test_compose.py), and PostgREST's per-request transaction replayed in SQL
as `authenticator` (tests/test_deploy_postgrest_api.py's `postgrest_request`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text
from stack_harness import (
    ROOT,
    ComposeEnv,
    Supervisor,
    abandon_guard,
    base_env,
    compose_config,
    filled_env_example,
    free_port,
    localhost_names,
    pg_bin_for_postgres_user,
    tools,
    versions,
    wait_until,
)

PARENT = "bi.localhost"
HOSTS = {name: f"{name}.{PARENT}" for name in ("dash", "voila", "lab", "studio", "api", "n8n")}
SIM_KEY = "stack-simulator-key-0f3c"  # noqa: S105 - the simulator's key, a test value
APP_ID = "100274"
PASSWORD = "correct-horse-battery-stack"  # noqa: S105 - dashboard users of this test
ADMIN, VIEWER = "ana_admin", "vera_demo"
WORKFLOWS = {"biDataSync": "indigitall-data-sync", "biTransformOnly": "indigitall-transform-only"}
HOOKS = {"biDataSync": "biDataSyncHook", "biTransformOnly": "biTransformHook"}  # webhook-started copies
BATCH_HOOK = "biBatchSyncHook"  # the data sync with the compose default tenant "*": the batch of every tenant
SCENARIO_TENANT = "coop"
COOP_KEY_ENV = "INDIGITALL_KEY_COOP"  # the coop tenant's ServerKey variable: a key the simulator refuses
SCHEDULE_SECONDS = 4


# -- the stack --------------------------------------------------------------------------------------
@dataclass
class Stack:
    scratch: Path
    sup: Supervisor
    ce: ComposeEnv
    ports: dict[str, int]
    owner_url: str
    superuser_url: str
    authenticator_url: str
    token: str
    ca: Path
    n8n_env: dict[str, str]
    tools_: Any
    compose_warnings: str
    readme_db: Path  # n8n's data folder right after the README's import
    coop: dict[str, Any] = field(default_factory=dict)  # the coop scenarios run beside the schedule

    def https(self, host: str, path: str = "/") -> str:
        return f"https://{HOSTS[host]}:{self.ports['https']}{path}"

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(verify=str(self.ca), timeout=30, **kw)

    def sql(self, query: str, url: str | None = None, **params: Any) -> list[Any]:
        engine = create_engine(_sa_url(url or self.superuser_url), pool_pre_ping=True)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return result.all() if result.returns_rows else []
        finally:
            engine.dispose()

    def n8n(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """One n8n CLI call with the n8n service's environment."""
        return subprocess.run(  # noqa: S603
            [str(self.tools_.n8n), *args], env=self.n8n_env, capture_output=True, text=True,
            timeout=timeout, cwd=self.scratch,
        )  # fmt: skip

    def n8n_db(self, folder: Path | None = None) -> sqlite3.Connection:
        path = (folder or Path(self.n8n_env["N8N_USER_FOLDER"]) / ".n8n") / "database.sqlite"
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)

    def trigger(self, workflow: str, timeout: float = 600) -> Execution:
        """Start a webhook copy through Caddy (n8n's domain) and wait for its execution to end."""
        before = last_execution_id(self)
        with self.client() as c:
            resp = c.post(self.https("n8n", f"/webhook/bi-test-{workflow}"), json={})
        assert resp.status_code == 200, resp.text[:300]
        done = wait_until(
            lambda: [e for e in executions(self, workflow, before) if e.status not in ("new", "running", "waiting")],
            timeout, f"the execution of {workflow}", self.sup.procs.get("n8n"),
        )  # fmt: skip
        assert len(done) == 1, done
        return done[0]


def _sa_url(url: str) -> str:
    """A compose URL (`postgresql://…`) for SQLAlchemy with the project's driver."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg2://", url)


def _need_tools() -> Any:
    t = tools()
    missing = t.missing()
    if missing:
        msg = "stack tools missing (run `make stack-deps`): " + ", ".join(missing)
        if os.environ.get("BI_STACK_REQUIRED"):
            pytest.fail(msg)
        pytest.skip(msg)
    if shutil.which("docker-compose") is None:
        pytest.fail("Debian's docker-compose is not installed (make test-deps)")
    return t


def _tenants_file(path: Path, sim: int) -> Path:
    """`demo` (the README import's tenant: the scheduled run) and `coop` (the webhook-started
    scenarios), whose ServerKey variable holds a key the simulator refuses: its full runs fail."""
    path.write_text(
        "tenants:\n"
        + "".join(
            f"  - id: {tid}\n    name: {tid.title()}\n    base_url: http://127.0.0.1:{sim}\n"
            f"    application_ids: ['{APP_ID}']\n    timezone: America/Bogota\n{extra}"
            for tid, extra in (("demo", ""), (SCENARIO_TENANT, f"    server_key_env: {COOP_KEY_ENV}\n"))
        ),
        encoding="utf-8",
    )
    return path


def _webhook(path: str) -> dict:
    return {
        "parameters": {"httpMethod": "POST", "path": path, "responseMode": "onReceived", "options": {}},
        "name": "Prueba webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 520],
        "id": f"{path}-node", "webhookId": str(uuid.uuid5(uuid.NAMESPACE_URL, path)),
    }  # fmt: skip


PROBE = {
    "id": "biEnvProbe", "name": "env-probe", "active": False, "settings": {"executionOrder": "v1"},
    "connections": {"Prueba webhook": {"main": [[{"node": "Leer", "type": "main", "index": 0}]]}},
    "nodes": [
        _webhook("bi-test-biEnvProbe"),
        {"parameters": {"assignments": {"assignments": [
            {"id": "probe-3", "name": "k", "value": "={{ $env.N8N_ENCRYPTION_KEY }}", "type": "string"}]},
            "options": {}},
         "name": "Leer", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0], "id": "probe-2"},
    ],
}  # fmt: skip


def derived_workflows(ce: ComposeEnv, t: Any, env: dict[str, str], out: Path) -> Path:
    """The test's copies of n8n/*.json, changed only where the test needs it, in one folder to import:
    - `biDataSync` with its schedule every few seconds (so it fires during the test), otherwise the file;
    - `biDataSyncHook`, `biTransformHook`: the two workflows with a Webhook trigger beside the schedule
      (the test starts them when it wants) for the tenant `coop`, so the firing schedule never meets them;
    - `biBatchSyncHook`: the data sync with a Webhook trigger and the compose default tenant `*` (the
      batch of every tenant);
    - `biEnvProbe`: a node reading `$env`.
    The "Configuración" nodes are filled by deploy/n8n/configure.mjs with the n8n-import settings."""
    folders = {"demo": out / "demo", SCENARIO_TENANT: out / SCENARIO_TENANT, "*": out / "batch"}
    for folder in folders.values():
        folder.mkdir(parents=True)
    for wid, name in WORKFLOWS.items():
        original = json.loads((ROOT / "n8n" / f"{name}.json").read_text(encoding="utf-8"))
        trig_name = next(
            n["name"] for n in original["nodes"] if n["type"] == "n8n-nodes-base.scheduleTrigger"
        )
        if wid == "biDataSync":
            wf = json.loads(json.dumps(original))
            trig = next(n for n in wf["nodes"] if n["name"] == trig_name)
            trig["parameters"]["rule"]["interval"] = [
                {"field": "seconds", "secondsInterval": SCHEDULE_SECONDS}
            ]
            (folders["demo"] / f"{name}.json").write_text(json.dumps(wf), encoding="utf-8")
        hook = json.loads(json.dumps(original))
        hook["id"], hook["name"] = HOOKS[wid], f"{name} (prueba)"
        hook["nodes"].append(_webhook(f"bi-test-{HOOKS[wid]}"))
        hook["connections"]["Prueba webhook"] = json.loads(json.dumps(hook["connections"][trig_name]))
        (folders[SCENARIO_TENANT] / f"{name}.json").write_text(json.dumps(hook), encoding="utf-8")
        if wid == "biDataSync":
            batch = json.loads(json.dumps(original))
            batch["id"], batch["name"] = BATCH_HOOK, f"{name} (lote de prueba)"
            batch["nodes"].append(_webhook(f"bi-test-{BATCH_HOOK}"))
            batch["connections"]["Prueba webhook"] = json.loads(json.dumps(batch["connections"][trig_name]))
            (folders["*"] / f"{name}.json").write_text(json.dumps(batch), encoding="utf-8")
    rendered = out / "rendered"
    rendered.mkdir()
    for tenant, folder in folders.items():
        tenant_env = {} if tenant == "*" else {"BI_TENANT_ID": tenant}  # "*": what compose passes by default
        proc = subprocess.run(  # noqa: S603
            [str(t.node), str(ROOT / "deploy/n8n/configure.mjs"), str(folder), str(out / f"r-{folder.name}")],
            env={**ce.environment("n8n-import"), **env, **tenant_env}, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        (out / f"r-{folder.name}" / "credentials.json").unlink()
        for f in (out / f"r-{folder.name}" / "workflows").iterdir():
            shutil.move(str(f), rendered / f"{folder.name}-{f.name}")
    (rendered / "probe.json").write_text(json.dumps(PROBE), encoding="utf-8")
    return rendered


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    t = _need_tools()
    from lib.db.pgcluster import SUPABASE_ROLES_SQL, local_cluster, supabase_roles

    scratch = Path(tempfile.mkdtemp(prefix="bi-stack-", dir="/tmp"))
    ports = {
        k: free_port() for k in ("dash", "voila", "lab", "sim", "n8n", "broker", "http", "https", "admin")
    }
    ports["meta"] = free_port(pairs=2)  # postgres-meta also listens on PORT+1 (its admin app)
    pg_bin = pg_bin_for_postgres_user(t, scratch)
    dash_url = f"https://{HOSTS['dash']}:{ports['https']}"
    env_file = scratch / "stack.env"
    env_file.write_text(
        filled_env_example(
            {
                **{f"{k.upper()}_DOMAIN": v for k, v in HOSTS.items()},
                "ACME_EMAIL": f"ops@{PARENT}", "DASH_COOKIE_DOMAIN": f".{PARENT}",
                "INDIGITALL_BASE_URL": f"http://127.0.0.1:{ports['sim']}", "INDIGITALL_SERVER_KEY": SIM_KEY,
                "INDIGITALL_APP_ID": APP_ID, "TENANT_ID": "demo", "N8N_BI_BASE_URL": dash_url,
                "N8N_POLL_SECONDS": "1", "DASH_WORKERS": "2", "DATABASE_URL": "", "APP_DATABASE_URL": "",
                "ANALYST_DATABASE_URL": "", "PIPELINE_DATABASE_URL": "", "DBT_DATABASE_URL": "",
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    env_file.chmod(0o600)
    try:
        doc, warnings = compose_config(env_file)
        with (
            abandon_guard(scratch) as guard,
            localhost_names(),
            local_cluster("bi-stack", bin_dir=pg_bin, tcp=True, superuser="supabase_admin") as cluster,
            Supervisor(scratch / "logs") as sup,
        ):
            guard.add(cluster.base)
            ce = ComposeEnv(
                doc,
                {"db:5432": cluster.port, "dash:8050": ports["dash"], "voila:8866": ports["voila"],
                 "lab:8888": ports["lab"], "n8n:5678": ports["n8n"], "meta:8080": ports["meta"]},
                scratch, {host: ports["https"] for host in HOSTS.values()},
            )  # fmt: skip
            base = base_env(scratch)
            data_dir = scratch / "data"
            data_dir.mkdir()
            bi_extra = {
                "BI_DATA_DIR": str(data_dir),
                "TENANTS_FILE": str(_tenants_file(scratch / "tenants.yml", ports["sim"])),
                "EXTRACT_BACKFILL_DAYS": "3",
                "EXTRACT_HEATMAP_DAYS": "3",
                "JUPYTER_CONFIG_DIR": str(scratch / "jupyter/config"),
                "JUPYTER_DATA_DIR": str(scratch / "jupyter/data"),
                "JUPYTER_RUNTIME_DIR": str(scratch / "jupyter/runtime"),
                "IPYTHONDIR": str(scratch / "ipython"),
                "MPLCONFIGDIR": str(scratch / "mpl"),
            }
            # Lab listens on 127.0.0.1 here, where `bi serve lab` keeps Jupyter's local-Host check (compose
            # binds 0.0.0.0, which turns it off): let through the host name Caddy forwards, as there.
            lab_config = scratch / "jupyter/config/jupyter_server_config.json"
            lab_config.parent.mkdir(parents=True)
            lab_config.write_text(json.dumps({"ServerApp": {"local_hostnames": ["localhost", HOSTS["lab"]]}}))
            # n8n: the n8n service's settings; its data volume under N8N_USER_FOLDER/.n8n.
            n8n_home = scratch / "n8n-home"
            (n8n_home / "files").mkdir(parents=True)
            node_path = f"{t.n8n.parent}{os.pathsep}{t.node.parent}{os.pathsep}{base['PATH']}"
            n8n_common = {
                **base, "PATH": node_path, "N8N_USER_FOLDER": str(n8n_home),
                "N8N_RUNNERS_BROKER_PORT": str(ports["broker"]),
                "NODE_OPTIONS": f"--require {ROOT / 'scripts/stack/localhost-dns.cjs'}",
            }  # fmt: skip
            caddy_root = scratch / "volumes" / "caddy-data" / "caddy/pki/authorities/local/root.crt"
            n8n_env = {
                **ce.environment("n8n"), **n8n_common,
                "N8N_PORT": str(ports["n8n"]), "N8N_LISTEN_ADDRESS": "127.0.0.1",
                "WEBHOOK_URL": f"https://{HOSTS['n8n']}:{ports['https']}/",
                "N8N_RESTRICT_FILE_ACCESS_TO": str(n8n_home / "files"),
                "NODE_EXTRA_CA_CERTS": str(caddy_root),
            }  # fmt: skip
            assert (
                n8n_env["N8N_RESTRICT_FILE_ACCESS_TO"] != ce.environment("n8n")["N8N_RESTRICT_FILE_ACCESS_TO"]
            )

            # 1. n8n set-up, as `docker compose run --rm n8n-import` (in the background: ~25 s of CLI start-ups)
            imp = ce.command("n8n-import", "entrypoint")
            assert imp[0] == "/bin/sh" and Path(imp[1]) == ROOT / "deploy/n8n/import.sh", imp
            importer = sup.start("n8n-import", imp, {**ce.environment("n8n-import"), **n8n_common})
            readme_db = scratch / "n8n-after-readme-import"
            setup_error: list[BaseException] = []

            def n8n_setup() -> None:  # after the README's import: the test copies, then all active
                try:
                    importer.popen.wait(600)
                    assert importer.popen.returncode == 0, importer.tail()
                    shutil.copytree(n8n_home / ".n8n", readme_db)
                    folder = derived_workflows(ce, t, n8n_common, scratch / "derived")
                    for args in (["import:workflow", "--separate", f"--input={folder}"],
                                 ["update:workflow", "--all", "--active=true"]):  # fmt: skip
                        step = sup.start(
                            f"n8n-{args[0].replace(':', '-')}", [str(t.n8n), *args], n8n_env, scratch
                        )
                        assert step.popen.wait(600) == 0, step.tail()
                except BaseException as exc:  # noqa: BLE001 - re-raised by the fixture
                    setup_error.append(exc)

            setup_thread = threading.Thread(target=n8n_setup, daemon=True)
            setup_thread.start()

            # 2. The database as the db service's first start leaves it, then `bi db migrate` as `migrate`.
            db = ce.environment("db")
            assert db["POSTGRES_USER"] == "supabase_admin"
            cluster.psql(f'CREATE DATABASE "{db["POSTGRES_DB"]}"')
            mounts = ce._volumes("db")
            init = sorted(
                (tgt, src) for tgt, src in mounts.items() if tgt.startswith("/docker-entrypoint-initdb.d/")
            )
            assert [Path(tgt).name for tgt, _ in init] == [
                "10-supabase-roles.sql", "20-bi-owner.sh", "zz-90-bi-authenticator.sh"
            ]  # fmt: skip
            for tgt, src in init:
                if src.suffix == ".sql":
                    assert src == SUPABASE_ROLES_SQL, tgt
                    supabase_roles(cluster, db["POSTGRES_DB"])
                else:
                    proc = subprocess.run(  # noqa: S603
                        ["/bin/bash", str(src)], capture_output=True, text=True, timeout=60,
                        env={**base, **db, "PATH": f"{pg_bin}{os.pathsep}{base['PATH']}",
                             "PGHOST": str(cluster.sock), "PGPORT": str(cluster.port)},
                    )  # fmt: skip
                    assert proc.returncode == 0, f"{tgt}: {proc.stderr}"
            migrate_env = {**base, **ce.environment("migrate"), **bi_extra}
            bi = str(Path(sys.executable).with_name("bi"))
            proc = subprocess.run(  # noqa: S603
                [bi, *ce.command("migrate")[1:]],
                env=migrate_env,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=ROOT,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "migrations applied:" in proc.stdout and "095_api_supabase_roles" in proc.stdout
            owner_url = migrate_env["DATABASE_URL"]
            for user, role, tenant in ((ADMIN, "admin", None), (VIEWER, "viewer", "demo")):
                args = [bi, "users", "add", user, "--role", role, "--password-env", "BI_STACK_PASSWORD"]
                args += ["--tenant", tenant] if tenant else []
                proc = subprocess.run(  # noqa: S603
                    args, env={**migrate_env, "BI_STACK_PASSWORD": PASSWORD}, capture_output=True, text=True,
                    timeout=60, cwd=ROOT,
                )  # fmt: skip
                assert proc.returncode == 0, proc.stderr

            # 3. The servers, each with its service's environment (its own login; no owner URL).
            sim = sup.start(
                "simulator",
                [bi, "serve", "simulator", "--port", str(ports["sim"])],
                {**base, "INDIGITALL_SERVER_KEY": SIM_KEY},
            )
            served = {}
            for name in ("dash", "voila", "lab"):
                argv = ce.command(name)
                assert argv[:3] == ["bi", "serve", name] and argv[3:5] == ["--host", "0.0.0.0"], argv
                env = {**base, **ce.environment(name), **bi_extra}
                if name == "dash":  # the runs it launches read the tenants' keys (tenants.yml)
                    env[COOP_KEY_ENV] = "a-revoked-server-key"
                served[name] = sup.start(
                    name, [bi, *argv[1:3], "--host", "127.0.0.1", "--port", str(ports[name])], env
                )
            meta_env = {
                **base, **ce.environment("meta"), "PATH": node_path, "PG_META_HOST": "127.0.0.1",
                "PG_META_PORT": str(ports["meta"]), "PG_META_DB_HOST": "127.0.0.1", "PG_META_DB_PORT": str(cluster.port),
            }  # fmt: skip
            # postgres-meta 0.84 uses `import … assert {type: 'json'}`, which Node 22+ rejects: its image runs
            # Node 20, and so does the test.
            meta = sup.start("postgres-meta", [str(t.meta_node), str(t.pg_meta)], meta_env)
            caddy_cmd = [
                "caddy",
                "run",
                "--config",
                "/etc/caddy/Caddyfile",
                "--adapter",
                "caddyfile",
            ]  # the image's
            caddy_env = {
                **base, **ce.environment("caddy"),
                "XDG_DATA_HOME": ce.translate("caddy", "/data"), "XDG_CONFIG_HOME": ce.translate("caddy", "/config"),
                "CADDY_GLOBAL_OPTIONS": str(ROOT / "deploy/caddy/loopback.caddy"),
                "CADDY_HTTP_PORT": str(ports["http"]), "CADDY_HTTPS_PORT": str(ports["https"]),
                "CADDY_ADMIN_PORT": str(ports["admin"]),
                "DASH_UPSTREAM": f"127.0.0.1:{ports['dash']}", "VOILA_UPSTREAM": f"127.0.0.1:{ports['voila']}",
                "LAB_UPSTREAM": f"127.0.0.1:{ports['lab']}", "N8N_UPSTREAM": f"127.0.0.1:{ports['n8n']}",
                # Studio's UI and Kong cannot run here: their addresses lead to postgres-meta instead.
                "STUDIO_UPSTREAM": f"127.0.0.1:{ports['meta']}", "API_UPSTREAM": f"127.0.0.1:{ports['meta']}",
            }  # fmt: skip
            caddy = sup.start(
                "caddy",
                [str(t.caddy), *caddy_cmd[1:3], ce.translate("caddy", caddy_cmd[3]), *caddy_cmd[4:]],
                caddy_env,
            )
            ready = httpx.Client(timeout=5)
            wait_until(
                lambda: ready.get(f"http://127.0.0.1:{ports['sim']}/").status_code < 500, 60, "simulator", sim
            )
            wait_until(
                lambda: ready.get(f"http://127.0.0.1:{ports['dash']}/healthz").status_code == 200,
                90, "dash /healthz", served["dash"],
            )  # fmt: skip
            wait_until(
                lambda: ready.get(f"http://127.0.0.1:{ports['voila']}/").status_code,
                90,
                "voila",
                served["voila"],
            )
            lab_token = ce.environment("lab")["JUPYTER_TOKEN"]
            wait_until(
                lambda: ready.get(
                    f"http://127.0.0.1:{ports['lab']}/api/status", headers={"Authorization": f"token {lab_token}"}
                ).status_code == 200,
                90, "lab /api/status", served["lab"],
            )  # fmt: skip
            wait_until(
                lambda: ready.get(f"http://127.0.0.1:{ports['meta']}/health").status_code, 60, "meta", meta
            )
            wait_until(caddy_root.exists, 60, "Caddy's internal CA", caddy)
            tls = httpx.Client(verify=str(caddy_root), timeout=10)
            wait_until(
                lambda: tls.get(f"{dash_url}/healthz").status_code == 200, 60, "dash through Caddy", caddy
            )
            setup_thread.join(900)
            if setup_error:
                raise setup_error[0]
            assert not setup_thread.is_alive(), "n8n set-up did not finish"
            # n8n in server mode, as the compose service runs it: the schedule starts firing now.
            n8n = sup.start("n8n", [str(t.n8n), "start"], n8n_env, cwd=scratch)
            wait_until(
                lambda: ready.get(f"http://127.0.0.1:{ports['n8n']}/healthz").status_code == 200, 180, "n8n", n8n
            )  # fmt: skip
            hooks = {f"bi-test-{w}" for w in [*HOOKS.values(), BATCH_HOOK, "biEnvProbe"]}

            def webhooks() -> set[str]:  # n8n registers them once it has activated the workflows
                path = n8n_home / ".n8n" / "database.sqlite"
                with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
                    return {r[0] for r in db.execute("SELECT webhookPath FROM webhook_entity")}

            wait_until(lambda: hooks <= webhooks(), 180, "n8n's activation of the workflows", n8n)

            yield Stack(
                scratch=scratch, sup=sup, ce=ce, ports=ports, owner_url=owner_url,
                superuser_url=f"postgresql+psycopg2://supabase_admin@/{db['POSTGRES_DB']}"
                f"?host={cluster.sock}&port={cluster.port}&application_name=bi-stack-test",
                authenticator_url=f"postgresql+psycopg2://authenticator:{db['AUTHENTICATOR_PASSWORD']}"
                f"@127.0.0.1:{cluster.port}/{db['POSTGRES_DB']}",
                token=ce.environment("dash")["PIPELINE_API_TOKEN"], ca=caddy_root, n8n_env=n8n_env, tools_=t,
                compose_warnings=warnings, readme_db=readme_db,
            )  # fmt: skip
            left = sup.stop_all()
            assert not left or all(not Path(f"/proc/{p}").exists() for p in left)
    finally:
        if not os.environ.get("BI_STACK_KEEP"):  # keep the logs for a look after a failure
            shutil.rmtree(scratch, ignore_errors=True)


# -- helpers -------------------------------------------------------------------------------------------
def unflatten(doc: str) -> Any:
    """n8n stores execution data in `flatted` form: a JSON array whose strings are indexes into it."""
    arr, done = json.loads(doc), {}

    def get(i: int) -> Any:
        if i in done:
            return done[i]
        value = arr[i]
        if isinstance(value, list):
            done[i] = out = []
            out.extend(get(int(x)) if isinstance(x, str) else x for x in value)
        elif isinstance(value, dict):
            done[i] = out = {}
            out.update({k: get(int(x)) if isinstance(x, str) else x for k, x in value.items()})
        else:
            done[i] = out = value
        return out

    return get(0)


@dataclass
class Execution:
    id: int
    workflow: str
    mode: str
    status: str
    last_node: str | None
    error: str | None
    launch: dict | None  # the "Lanzar pipeline" node's output: statusCode, body
    result: dict = field(repr=False, default_factory=dict)  # resultData, for failure messages

    def __str__(self) -> str:
        return f"{self!r}\n{json.dumps(self.result, default=str)[:4000]}"


def executions(stack: Stack, workflow: str, after: int = 0) -> list[Execution]:
    with contextlib.closing(stack.n8n_db()) as db:
        rows = db.execute(
            "SELECT e.id, e.workflowId, e.mode, e.status, d.data FROM execution_entity e "
            "JOIN execution_data d ON d.executionId = e.id WHERE e.workflowId = ? AND e.id > ? ORDER BY e.id",
            (workflow, after),
        ).fetchall()
    out = []
    for eid, wid, mode, status, data in rows:
        result = unflatten(data)["resultData"]
        launch = result.get("runData", {}).get("Lanzar pipeline")
        launch_json = launch[0]["data"]["main"][0][0]["json"] if launch and launch[0].get("data") else None
        error = (result.get("error") or {}).get("message")
        out.append(
            Execution(int(eid), wid, mode, status, result.get("lastNodeExecuted"), error, launch_json, result)
        )
    return out


def last_execution_id(stack: Stack) -> int:
    with contextlib.closing(stack.n8n_db()) as db:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM execution_entity").fetchone()[0])


def run_row(stack: Stack, run_id: str) -> dict:
    rows = stack.sql(
        "SELECT run_id, tenant_id, mode, status, error FROM ops.pipeline_runs WHERE run_id = :r", r=run_id
    )
    assert rows, f"run {run_id} is not in the ledger"
    return dict(rows[0]._mapping)


def active_runs(stack: Stack) -> list[str]:
    return [
        r[0] for r in stack.sql("SELECT run_id FROM ops.pipeline_runs WHERE status IN ('queued', 'running')")
    ]


def run_document(stack: Stack, run_id: str) -> dict:
    with stack.client() as c:
        resp = c.get(
            stack.https("dash", f"/api/runs/{run_id}"), headers={"Authorization": f"Bearer {stack.token}"}
        )
    assert resp.status_code == 200, resp.text
    return resp.json()


@contextlib.contextmanager
def sign_in(stack: Stack, user: str) -> Iterator[httpx.Client]:
    """A client holding a dashboard session of `user`, signed in through Caddy."""
    with stack.client(follow_redirects=False) as c:
        page = c.get(stack.https("dash", "/login"))
        assert page.status_code == 200, page.text[:500]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        resp = c.post(
            stack.https("dash", "/login"),
            data={"username": user, "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        )
        assert resp.status_code in (302, 303), f"sign-in of {user}: {resp.status_code} {resp.text[:300]}"
        yield c


# -- database ------------------------------------------------------------------------------------------
def test_postgresql_is_the_compose_minor_with_supabase_roles(stack: Stack) -> None:
    v = versions()
    (version,) = stack.sql("SHOW server_version")[0]
    assert version.split()[0] == v["POSTGRES_VERSION"]
    assert stack.ce.image_tag("db") == f"{v['POSTGRES_VERSION']}-bookworm"
    roles = dict(
        (r[0], (r[1], r[2], r[3]))
        for r in stack.sql(
            "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles "
            "WHERE rolname IN ('postgres', 'anon', 'authenticated', 'service_role', 'authenticator', 'web_anon')"
        )
    )
    assert roles == {
        "postgres": (False, True, True), "anon": (False, False, False), "authenticated": (False, False, False),
        "service_role": (False, True, False), "authenticator": (False, False, True), "web_anon": (False, False, False),
    }  # fmt: skip
    (owner,) = stack.sql(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    )[0]
    assert owner == "postgres"
    # the first-start scripts set the logins' passwords: both log in over TCP with them
    assert stack.sql("SELECT current_user", stack.owner_url)[0][0] == "postgres"
    assert stack.sql("SELECT current_user", stack.authenticator_url)[0][0] == "authenticator"


def test_migrate_creates_the_logins_compose_passes(stack: Stack) -> None:
    logins = {
        r[0]: (r[1], r[2], r[3], r[4])
        for r in stack.sql(
            "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolcreaterole FROM pg_roles "
            "WHERE rolname LIKE 'bi\\_%\\_login'"
        )
    }
    assert set(logins) == {"bi_app_login", "bi_analyst_login", "bi_pipeline_login", "bi_dbt_login"}
    assert all(v == (False, False, True, False) for v in logins.values()), logins  # LOGIN, nothing more
    for service, var, login in (("dash", "APP_DATABASE_URL", "bi_app_login"),
                                ("voila", "ANALYST_DATABASE_URL", "bi_analyst_login"),
                                ("dash", "PIPELINE_DATABASE_URL", "bi_pipeline_login"),
                                ("dash", "DBT_DATABASE_URL", "bi_dbt_login")):  # fmt: skip
        assert stack.sql("SELECT current_user", stack.ce.environment(service)[var])[0][0] == login


# -- Caddy ------------------------------------------------------------------------------------------
def test_caddy_is_the_compose_pin_and_validates_the_production_caddyfile(stack: Stack) -> None:
    v = versions()
    out = subprocess.run(
        [str(stack.tools_.caddy), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(f"v{v['CADDY_VERSION']} ")
    assert stack.ce.image_tag("caddy") == f"{v['CADDY_VERSION']}-alpine"
    # as the container runs it: the compose environment only, no loopback options
    env = {"PATH": "/usr/bin:/bin", "HOME": str(stack.scratch / "home"), **stack.ce.environment("caddy")}
    proc = subprocess.run(  # noqa: S603
        [str(stack.tools_.caddy), "validate", "--config", str(ROOT / "deploy/Caddyfile"), "--adapter", "caddyfile"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and "Valid configuration" in proc.stdout + proc.stderr, proc.stderr[-2000:]


def test_caddy_serves_tls_from_its_internal_ca(stack: Stack) -> None:
    with stack.client() as c:
        resp = c.get(stack.https("dash", "/healthz"))
    assert resp.status_code == 200 and resp.json()["database"] == "ok"
    assert resp.headers["strict-transport-security"].startswith("max-age=31536000")
    assert resp.headers["x-content-type-options"] == "nosniff" and "server" not in resp.headers
    with (
        httpx.Client(timeout=10) as untrusting,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        untrusting.get(stack.https("dash", "/healthz"))  # the system store does not hold Caddy's CA
    with httpx.Client(timeout=10, follow_redirects=False) as plain:
        redirect = plain.get(f"http://{HOSTS['dash']}:{stack.ports['http']}/runs")
    assert redirect.status_code == 308  # to the standard HTTPS port, as in production
    assert redirect.headers["location"] == f"https://{HOSTS['dash']}/runs"


def test_pipeline_api_through_caddy_needs_the_token(stack: Stack) -> None:
    with stack.client() as c:
        anonymous = c.post(stack.https("dash", "/api/run-pipeline"), json={"mode": "full"})
        wrong = c.post(
            stack.https("dash", "/api/run-pipeline"),
            json={"mode": "full"},
            headers={"Authorization": "Bearer no"},
        )
        status = c.get(stack.https("dash", "/api/runs/any"), headers={"Authorization": "Bearer no"})
    for resp in (anonymous, wrong, status):
        assert resp.status_code == 401 and resp.json() == {"error": "unauthorized"}
        assert resp.headers["www-authenticate"].startswith("Bearer")


# -- the sign-in in front of Voila, Lab and Studio (forward auth) -------------------------------------
def test_anonymous_browser_is_sent_to_the_sign_in_and_back(stack: Stack) -> None:
    target = stack.https("voila", "/voila/render/01_conversation_funnel.ipynb?date_from=2026-11-01")
    with stack.client(follow_redirects=False) as c:
        browser = c.get(target, headers={"Accept": "text/html,application/xhtml+xml"})
        api = c.get(target, headers={"Accept": "application/json"})
    assert browser.status_code == 302, browser.text[:300]
    loc = urlsplit(browser.headers["location"])
    assert (loc.scheme, loc.netloc, loc.path) == (
        "https",
        f"{HOSTS['dash']}:{stack.ports['https']}",
        "/login",
    )
    assert parse_qs(loc.query)["next"] == [target]
    assert api.status_code == 401


def test_a_viewer_reaches_voila_but_not_lab_or_studio(stack: Stack) -> None:
    with sign_in(stack, VIEWER) as c:
        voila = c.get(stack.https("voila", "/"))
        listing = c.get(stack.https("voila", "/voila/api/contents/"))  # what Voila's tree page shows
        lab = c.get(stack.https("lab", "/api/status"))
        studio = c.get(stack.https("studio", "/tables"))
        spoofed = c.get(stack.https("lab", "/api/status"), headers={"X-BI-Role": "admin", "X-BI-User": ADMIN})
    assert voila.status_code == 200 and 'id="voila-tree-main"' in voila.text
    assert listing.status_code == 200, listing.text[:300]
    assert "01_conversation_funnel.ipynb" in {item["name"] for item in listing.json()["content"]}
    assert lab.status_code == 403 and studio.status_code == 403 and spoofed.status_code == 403


def test_an_admin_reaches_lab_and_studio(stack: Stack) -> None:
    token = stack.ce.environment("lab")["JUPYTER_TOKEN"]
    with sign_in(stack, ADMIN) as c:
        lab_without_token = c.get(stack.https("lab", "/api/status"))  # first: a token sets Jupyter's cookie
        lab = c.get(stack.https("lab", "/api/status"), headers={"Authorization": f"token {token}"})
        studio = c.get(stack.https("studio", "/views?included_schemas=api"))
    assert lab.status_code == 200 and "started" in lab.json()
    assert lab_without_token.status_code in (401, 403)  # Jupyter's own token still applies
    assert studio.status_code == 200 and "mart_daily_kpis" in {v["name"] for v in studio.json()}
    with stack.client(follow_redirects=False) as anonymous:
        assert anonymous.get(stack.https("studio", "/tables")).status_code == 401


# -- postgres-meta (Studio's API) ---------------------------------------------------------------------
def test_postgres_meta_answers_as_studio_asks(stack: Stack) -> None:
    v = versions()
    assert stack.ce.image_tag("meta") == f"v{v['PG_META_VERSION']}"
    meta = f"http://127.0.0.1:{stack.ports['meta']}"
    with httpx.Client(timeout=30) as c:
        tables = c.get(
            f"{meta}/tables", params={"included_schemas": "public,raw", "include_columns": "false"}
        )
        query = c.post(
            f"{meta}/query",
            json={"query": "SELECT current_user AS who, count(*) AS n FROM ops.dashboard_users"},
        )
    assert tables.status_code == 200, tables.text[:300]
    names = {(t["schema"], t["name"]) for t in tables.json()}
    assert {("public", "messages"), ("raw", "raw_chat_stats"), ("public", "sync_state")} <= names
    assert query.status_code == 200 and query.json() == [{"who": "postgres", "n": 2}]


def test_postgres_meta_is_never_reached_through_the_api_domain(stack: Stack) -> None:
    with stack.client(follow_redirects=False) as c:
        blocked = [c.get(stack.https("api", p)).status_code for p in ("/pg/tables", "/pg", "/pg/query")]
        posted = c.post(stack.https("api", "/pg/query"), json={"query": "SELECT 1"}).status_code
        other = c.get(stack.https("api", "/tables"))  # same upstream: Caddy's rule, not a dead address
    assert blocked == [404, 404, 404] and posted == 404
    assert other.status_code == 200 and isinstance(other.json(), list)


# -- n8n ------------------------------------------------------------------------------------------
N8N_RESULTS: dict[str, Any] = {}


def test_n8n_is_the_compose_pin_without_the_advisories(stack: Stack) -> None:
    v = versions()
    assert stack.ce.image_tag("n8n") == stack.ce.image_tag("n8n-import") == v["N8N_VERSION"]
    out = stack.n8n("--version", timeout=60).stdout.strip().splitlines()[-1]
    assert out == v["N8N_VERSION"]
    # CVE-2025-68613 (expression sandbox escape) was fixed completely in 1.123.0, CVE-2026-21858
    # (form webhook file read) in 1.121.0; the 1.123.64 fixes (GHSA-9wcp-9r3j-383q et al.) are in too.
    assert tuple(int(x) for x in out.split(".")) >= (1, 123, 64)
    assert stack.n8n_env["N8N_BLOCK_ENV_ACCESS_IN_NODE"] == "true"


def test_readme_import_gives_stable_ids_tags_credential_and_settings(stack: Stack) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose run --rm n8n-import" in readme  # the command the fixture ran (its entrypoint)
    with contextlib.closing(stack.n8n_db(stack.readme_db)) as db:  # as the README's import left it
        workflows = {
            r[0]: (r[1], r[2], json.loads(r[3]))
            for r in db.execute("SELECT id, name, active, nodes FROM workflow_entity")
        }
        tags = dict(db.execute("SELECT id, name FROM tag_entity").fetchall())
        links = set(db.execute("SELECT workflowId, tagId FROM workflows_tags").fetchall())
        creds = db.execute("SELECT id, name, type, data FROM credentials_entity").fetchall()
    for wid, name in WORKFLOWS.items():
        wf_file = json.loads((ROOT / "n8n" / f"{name}.json").read_text(encoding="utf-8"))
        assert wf_file["id"] == wid and len(wid) <= 16
        stored_name, active, nodes = workflows[wid]
        assert stored_name == name and active == 1
        assert {(wid, t["id"]) for t in wf_file["tags"]} <= links
        config = next(n for n in nodes if n["name"] == "Configuración")["parameters"]["assignments"][
            "assignments"
        ]
        assert {a["name"]: a["value"] for a in config} == {
            "base_url": f"https://{HOSTS['dash']}:{stack.ports['https']}",
            "tenant": "*",
            "poll_seconds": 1,
        }  # fmt: skip  (compose's default BI_TENANT_ID: the batch of every tenant)
        assert "$env" not in json.dumps(nodes)
    assert tags["biTagIndigitall"] == "indigitall-bi"
    ((cid, cname, ctype, cdata),) = creds
    assert (cid, cname, ctype) == ("biPipelineToken", "BI pipeline API token", "httpHeaderAuth")
    assert stack.token not in cdata  # encrypted with N8N_ENCRYPTION_KEY
    db_bytes = b"".join(p.read_bytes() for p in stack.readme_db.glob("database.sqlite*"))
    assert stack.token.encode() not in db_bytes
    leftovers = [p for p in Path(tempfile.gettempdir()).glob("tmp.*") if (p / "credentials.json").exists()]
    assert leftovers == []  # the credential file was deleted


def test_workflows_cannot_read_the_environment(stack: Stack) -> None:
    ex = stack.trigger("biEnvProbe")
    assert ex.status == "error" and ex.error == "access to env vars denied", str(ex)
    assert stack.n8n_env["N8N_ENCRYPTION_KEY"] not in (stack.sup.logdir / "n8n.log").read_text(
        errors="replace"
    )


@pytest.fixture(scope="module")
def scheduled_run(stack: Stack) -> Iterator[str]:
    """The run the data sync's schedule triggered (n8n in server mode, through Caddy), once it ended in
    "Pipeline OK"; from then on the test holds the demo tenant, so every later firing meets the lock.
    The coop scenarios (`coop_runs`) start meanwhile, on the other tenant."""
    if "thread" not in stack.coop:
        stack.coop["thread"] = threading.Thread(target=_coop_scenarios, args=(stack,), daemon=True)
        stack.coop["thread"].start()
    ok = wait_until(
        lambda: [e for e in executions(stack, "biDataSync") if e.last_node == "Pipeline OK"],
        600, "a scheduled execution ending in Pipeline OK", stack.sup.procs.get("n8n"),
    )  # fmt: skip
    lock = HeldLock(stack, "demo")
    wait_until(lock.acquire, 300, "the demo tenant's lock (a second scheduled run may be running)")
    try:
        N8N_RESULTS["first_ok"] = ok[0]
        yield ok[0].launch["body"]["run_id"]
    finally:
        lock.release()


def test_the_schedule_fires_and_the_run_succeeds_through_caddy(stack: Stack, scheduled_run: str) -> None:
    ex: Execution = N8N_RESULTS["first_ok"]
    assert ex.mode == "trigger" and ex.status == "success"
    assert ex.launch["statusCode"] == 202 and ex.launch["body"]["status"] == "queued"
    row = run_row(stack, scheduled_run)
    assert (row["tenant_id"], row["mode"], row["status"]) == ("demo", "full", "success")
    # n8n reached the app through Caddy: its access log holds the POST and the polls on the dashboard host
    log = (stack.sup.logdir / "caddy.log").read_text(errors="replace")
    posts = [
        ln for ln in log.splitlines() if "/api/run-pipeline" in ln and HOSTS["dash"] in ln and "POST" in ln
    ]
    assert posts and any(f"/api/runs/{scheduled_run}" in ln for ln in log.splitlines())
    assert stack.token not in log
    # while the test holds the tenant, the next firings end quietly in "Ya en ejecución"
    after = ex.id
    quiet = wait_until(
        lambda: [e for e in executions(stack, "biDataSync", after) if e.last_node == "Ya en ejecución"],
        60, "a scheduled firing meeting the held lock",
    )  # fmt: skip
    assert all(e.status == "success" and e.error is None and e.launch["statusCode"] == 409 for e in quiet)


class HeldLock:
    """A run lock of lib.pipeline.lock (a tenant's key, or `key`: the batch lock), taken by the test on
    a connection of its own."""

    def __init__(self, stack: Stack, tenant: str = "", key: tuple[int, int] | None = None) -> None:
        from lib.pipeline.lock import lock_key

        self.url, self.conn = stack.superuser_url, None
        self.key = key or lock_key(tenant)

    def acquire(self) -> bool:
        import psycopg2

        conn = psycopg2.connect(_sa_url(self.url).replace("postgresql+psycopg2", "postgresql"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key)
            if cur.fetchone()[0]:
                self.conn = conn
                return True
        conn.close()
        return False

    def release(self) -> None:
        if self.conn is not None:
            with self.conn.cursor() as cur:  # at once: a closing backend may hold it a moment longer
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", self.key)
            self.conn.close()
            self.conn = None


def _tenant_free(stack: Stack, tenant: str = SCENARIO_TENANT) -> None:
    """Wait until no run holds the tenant (a finished run's process releases it as it exits)."""
    lock = HeldLock(stack, tenant)
    wait_until(lock.acquire, 120, f"the {tenant} tenant's lock")
    lock.release()


@pytest.fixture(scope="module")
def coop_runs(stack: Stack) -> dict[str, Execution]:
    """The coop tenant's data sync (its key refused: the run fails), then its transform-only run (it
    succeeds), started through their webhooks while the demo schedule's first run goes on."""
    thread = stack.coop.get("thread")
    if thread is None:
        thread = threading.Thread(target=_coop_scenarios, args=(stack,), daemon=True)
        stack.coop["thread"] = thread
        thread.start()
    thread.join(900)
    assert not thread.is_alive(), "the coop scenarios did not finish"
    if "error" in stack.coop:
        raise stack.coop["error"]
    return stack.coop


def _coop_scenarios(stack: Stack) -> None:
    try:
        _tenant_free(stack)
        stack.coop["failed-full"] = stack.trigger(HOOKS["biDataSync"])
        _tenant_free(stack)
        stack.coop["transform-only"] = stack.trigger(HOOKS["biTransformOnly"])
    except BaseException as exc:  # noqa: BLE001 - re-raised by the fixture
        stack.coop["error"] = exc


def test_transform_only_workflow_succeeds(stack: Stack, coop_runs: dict) -> None:
    ex = coop_runs["transform-only"]
    assert ex.status == "success" and ex.last_node == "Pipeline OK", str(ex)
    row = run_row(stack, ex.launch["body"]["run_id"])
    assert (row["tenant_id"], row["mode"], row["status"]) == (SCENARIO_TENANT, "transform-only", "success")


def test_a_failed_data_sync_run_fails_the_execution_with_its_message(stack: Stack, coop_runs: dict) -> None:
    """The Indigitall API refuses the coop tenant's ServerKey: the run fails, and so does n8n's execution."""
    ex = coop_runs["failed-full"]
    _assert_failed(stack, ex, "full")
    assert "401" in ex.error


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
def test_a_trigger_while_a_run_holds_the_lock_ends_quietly(
    stack: Stack, coop_runs: dict, workflow: str
) -> None:
    runs_before = stack.sql("SELECT count(*) FROM ops.pipeline_runs WHERE tenant_id = :t", t=SCENARIO_TENANT)[
        0
    ][0]
    lock = HeldLock(stack, SCENARIO_TENANT)
    wait_until(lock.acquire, 120, "the tenant's lock (the last run's process may still be exiting)")
    try:
        ex = stack.trigger(HOOKS[workflow])
    finally:
        lock.release()
    assert ex.status == "success" and ex.last_node == "Ya en ejecución" and ex.error is None
    assert ex.launch["statusCode"] == 409 and ex.launch["body"]["error"] == "already running"
    runs_after = stack.sql("SELECT count(*) FROM ops.pipeline_runs WHERE tenant_id = :t", t=SCENARIO_TENANT)[
        0
    ][0]
    assert runs_after == runs_before


def test_a_failed_transform_run_fails_the_execution_with_its_message(
    stack: Stack, scheduled_run: str, coop_runs: dict
) -> None:
    """A transform cannot read its state table (as after a missing migration): the run fails."""
    _tenant_free(stack)
    # Up-to-date transforms are skipped (issue 15): forget their last successes so they must run.
    stack.sql("DELETE FROM ops.step_state WHERE tenant_id = :t", t=SCENARIO_TENANT)
    stack.sql("ALTER TABLE ops.transform_state RENAME TO transform_state_hidden")
    try:
        ex = stack.trigger(HOOKS["biTransformOnly"])
    finally:
        stack.sql("ALTER TABLE ops.transform_state_hidden RENAME TO transform_state")
    _assert_failed(stack, ex, "transform-only")
    assert "transform_state" in ex.error


def test_the_batch_workflow_fails_with_each_failed_tenants_message(
    stack: Stack, scheduled_run: str, coop_runs: dict
) -> None:
    """The data sync with compose's default tenant `*` posts the batch of every tenant: `demo` (held by
    the test, as by a run in progress) is skipped with its reason, `coop`'s refused key fails its run
    alone, and n8n's execution fails with the batch's message naming coop's failed step. A second
    batch while one holds the batch lock ends quietly in "Ya en ejecución" (409), starting nothing."""
    from lib.pipeline.lock import BATCH_KEY

    _tenant_free(stack)
    ex = stack.trigger(BATCH_HOOK)
    assert ex.status == "error" and ex.last_node == "Pipeline fallido", str(ex)
    assert ex.launch["statusCode"] == 202 and ex.launch["body"]["tenants"] == ["demo", SCENARIO_TENANT]
    batch_id = ex.launch["body"]["batch_id"]
    doc = run_document(stack, batch_id)
    assert doc["done"] and doc["status"] == "failed" and doc["failed_tenants"] == [SCENARIO_TENANT], doc
    assert doc["skipped_tenants"] == ["demo"] and "already running" in doc["tenants"]["demo"]["reason"]
    coop = doc["tenants"][SCENARIO_TENANT]
    assert run_row(stack, coop["run_id"])["status"] == "failed" and "401" in coop["error"]
    message = doc["error"]["message"]
    assert (
        message.startswith(f"failed tenants: {SCENARIO_TENANT} (step extract_") and coop["error"] in message
    )
    assert ex.error == f"El pipeline {batch_id} terminó en estado failed (HTTP 200): {message}"
    batches = stack.sql("SELECT count(*) FROM ops.pipeline_batches")[0][0]
    held = HeldLock(stack, key=BATCH_KEY)
    wait_until(held.acquire, 120, "the batch lock (the last batch's process may still be exiting)")
    try:
        again = stack.trigger(BATCH_HOOK)
    finally:
        held.release()
    assert again.status == "success" and again.last_node == "Ya en ejecución" and again.error is None, str(
        again
    )
    assert again.launch["statusCode"] == 409 and again.launch["body"]["error"] == "already running"
    assert stack.sql("SELECT count(*) FROM ops.pipeline_batches")[0][0] == batches


def _assert_failed(stack: Stack, ex: Execution, mode: str) -> None:
    assert ex.status == "error" and ex.last_node == "Pipeline fallido", str(ex)
    run_id = ex.launch["body"]["run_id"]
    row = run_row(stack, run_id)
    assert (row["mode"], row["status"]) == (mode, "failed")
    doc = run_document(stack, run_id)
    message = doc["error"]["message"]
    assert message and doc["error"]["step"]
    assert ex.error.startswith(f"El pipeline {run_id} terminó en estado failed (HTTP 200): ")
    assert message in ex.error  # the pipeline's own message, whole


# -- PostgREST's per-request transaction, as `authenticator` -------------------------------------------
@pytest.mark.parametrize(
    ("role", "claims", "sees"),
    [
        ("anon", None, None),
        ("anon", {"tenant_id": "demo"}, "demo"),
        ("authenticated", {"tenant_id": "demo"}, "demo"),
        ("authenticated", {"tenant_id": "otra"}, None),
        ("authenticated", None, None),
        ("service_role", None, None),  # BYPASSRLS does not widen the API
        ("service_role", {"tenant_id": "demo"}, "demo"),
        ("web_anon", {"tenant_id": "demo"}, "demo"),
    ],
)
def test_postgrest_request_per_jwt_role(
    stack: Stack, scheduled_run: str, role: str, claims: dict | None, sees: str | None
) -> None:
    from test_deploy_postgrest_api import postgrest_request

    expected = dict(stack.sql("SELECT tenant_id, count(*) FROM analytics.mart_daily_kpis GROUP BY tenant_id"))
    assert expected.get("demo", 0) > 0
    engine = create_engine(stack.authenticator_url)
    try:
        with engine.connect() as conn:
            rows = postgrest_request(
                conn, role, claims, "SELECT tenant_id, count(*) FROM api.mart_daily_kpis GROUP BY tenant_id"
            )
            assert dict(rows) == ({sees: expected[sees]} if sees else {})
            with pytest.raises(Exception, match="permission denied"):  # nothing outside `api`
                postgrest_request(conn, role, claims, "SELECT count(*) FROM public.messages")
    finally:
        engine.dispose()


def test_authenticator_alone_reads_nothing_and_cannot_become_the_owner(stack: Stack) -> None:
    from sqlalchemy.exc import ProgrammingError

    engine = create_engine(stack.authenticator_url)
    try:
        for sql in (
            "SELECT count(*) FROM api.mart_daily_kpis",
            "SET ROLE postgres",
            "SET ROLE supabase_admin",
        ):
            with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(sql))
    finally:
        engine.dispose()


# -- the browser --------------------------------------------------------------------------------------
CHROME_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
)  # fmt: skip


def _spki_hashes(stack: Stack) -> str:
    """Chromium trusts Caddy's internal CA by the SPKI hashes of its root and intermediate."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = []
    for name in ("root.crt", "intermediate.crt"):
        cert = x509.load_pem_x509_certificate((stack.ca.parent / name).read_bytes())
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        out.append(base64.b64encode(hashlib.sha256(spki).digest()).decode())
    return ",".join(out)


@pytest.fixture(scope="module")
def browser(stack: Stack):  # noqa: ANN201
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in CHROME_ARGS:
        opts.add_argument(arg)
    opts.add_argument(f"--user-data-dir={stack.scratch / 'chromium'}")
    opts.add_argument(f"--ignore-certificate-errors-spki-list={_spki_hashes(stack)}")
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver", port=free_port()))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _browser_sign_in(stack: Stack, driver: Any, user: str, *, here: bool = False) -> None:
    """Sign in on the dashboards' sign-in page: a fresh one, or (`here`) the one the browser is on."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    if not here:
        driver.delete_all_cookies()
        driver.get(stack.https("dash", "/login"))
    WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "login-form")))
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)


def test_browser_signs_in_through_caddy_and_sees_the_n8n_run(
    stack: Stack, browser: Any, scheduled_run: str
) -> None:
    from datetime import date, timedelta

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run_id = scheduled_run
    _browser_sign_in(stack, browser, VIEWER)
    today = date.today()
    window = f"range=custom&from={(today - timedelta(days=2)).isoformat()}&to={(today + timedelta(days=1)).isoformat()}"
    browser.get(stack.https("dash", f"/runs?{window}"))
    assert browser.current_url.startswith(f"https://{HOSTS['dash']}:")  # TLS accepted, no interstitial
    WebDriverWait(browser, 60).until(lambda d: run_id in d.find_element(By.ID, "runs-grid").text)
    grid = browser.find_element(By.ID, "runs-grid").text
    assert "full" in grid
    others = [r[0] for r in stack.sql("SELECT run_id FROM ops.pipeline_runs WHERE tenant_id <> 'demo'")]
    assert others and not [r for r in others if r in grid]  # a viewer of demo sees demo's runs only


def test_the_dashboard_session_opens_voila_in_the_browser(stack: Stack, browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(stack.https("voila", "/"))
    WebDriverWait(browser, 30).until(lambda d: urlsplit(d.current_url).netloc.startswith(HOSTS["dash"]))
    _browser_sign_in(stack, browser, VIEWER, here=True)  # and back to Voila (`next`)
    WebDriverWait(browser, 60).until(lambda d: urlsplit(d.current_url).netloc.startswith(HOSTS["voila"]))
    WebDriverWait(browser, 60).until(lambda d: "01_conversation_funnel" in d.page_source)


# -- least privilege while serving ----------------------------------------------------------------
def test_no_serving_process_holds_an_owner_session(stack: Stack) -> None:
    with sign_in(stack, VIEWER) as c:
        assert c.get(stack.https("dash", "/runs")).status_code == 200
        c.get(stack.https("voila", "/voila/render/01_conversation_funnel.ipynb"))
    rows = stack.sql(
        "SELECT a.usename, a.application_name, r.rolsuper, r.rolbypassrls FROM pg_stat_activity a "
        "JOIN pg_roles r ON r.rolname = a.usename WHERE a.datname = current_database() "
        "AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'"
    )
    # postgres-meta is Studio's owner connection (admins only); bi-stack-test is this test's own
    ours = ("postgres-meta", "bi-stack-test")
    privileged = [
        r for r in rows if (r.rolsuper or r.rolbypassrls) and not r.application_name.startswith(ours)
    ]
    assert rows and privileged == []
