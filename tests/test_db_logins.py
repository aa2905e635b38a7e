"""One database login per kind of process: the allow/deny matrix in SQL, escalation attempts, and how
each process finds its URL. Runs on the embedded PostgreSQL 18 and on a PostgreSQL 15 cluster with
Supabase's role shape (`postgres` is NOSUPERUSER BYPASSRLS CREATEROLE, as in production).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from lib.config import ConfigError, reload_settings, secret_values
from lib.db import dispose_engines, login_url, mask, migrate, to_dsn
from lib.db.logins import KINDS, ensure_logins
from lib.db.pgcluster import PG15_BIN, local_cluster, supabase_roles

ROOT = Path(__file__).resolve().parents[1]
LOGIN_VARS = tuple(k.env for k in KINDS.values())
GROUP_CHAIN = {  # the roles a login may SET ROLE to: itself and its groups (no privilege beyond its own)
    "app": {"bi_app", "bi_reader"},
    "analyst": {"bi_analyst", "bi_reader"},
    "pipeline": {"bi_loader"},
    "dbt": {"bi_dbt"},
}
DENY, RLS, BAD = "deny", "rls", "bad"
KINDS4 = ("app", "analyst", "pipeline", "dbt")


# --- running one statement as one login ------------------------------------------------------------
class Session:
    """One connection per login; every attempt runs in its own transaction, rolled back afterwards."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(to_dsn(url), application_name="test-logins")

    def run(self, sql: str, tenant: str | None = None) -> Any:
        """The rows (or row count) of `sql`, or DENY / RLS / BAD when the server refuses it."""
        try:
            with self.conn.cursor() as cur:
                if tenant:
                    cur.execute("SET LOCAL app.tenant_id = %s", (tenant,))  # as tenant_tx (Citus forwards it)
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()] if cur.description else cur.rowcount
        except psycopg2.Error as exc:
            msg = (exc.pgerror or str(exc)).lower()
            if exc.pgcode == "42501":
                return RLS if "row-level security" in msg else DENY
            if exc.pgcode == "22023":
                return BAD
            raise AssertionError(f"unexpected error for {sql!r}: {exc.pgcode} {msg}") from None
        finally:
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def _owner_exec(owner_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(to_dsn(owner_url))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


SEED = """
INSERT INTO public.tenants (id, name) VALUES ('ta', 'A'), ('tb', 'B') ON CONFLICT DO NOTHING;
INSERT INTO public.contacts (tenant_id, contact_id, contact_name) VALUES ('ta', 'c1', 'Ana'), ('tb', 'c2', 'Beto');
INSERT INTO raw.raw_chat_stats (tenant_id, endpoint, source_data)
    VALUES ('ta', '/v1/chat/channel', '{}'), ('tb', '/v1/chat/channel', '{}');
INSERT INTO raw.extraction_log (tenant_id, endpoint, http_status) VALUES ('ta', '/x', 200), ('tb', '/x', 200);
INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status) VALUES ('run-a', 'ta', 'full', 'success'),
    ('run-b', 'tb', 'full', 'success');
INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, status) VALUES ('run-a', 'ta', 1, 's', 'success'),
    ('run-b', 'tb', 1, 's', 'success');
INSERT INTO ops.transform_state (tenant_id, entity) VALUES ('ta', 'messages'), ('tb', 'messages');
INSERT INTO ops.dashboard_users (username, password_hash, role, tenant_id)
    VALUES ('matrix_viewer', '$2b$12$notarealhashnotarealhashnotarealhashnotarealhas', 'viewer', 'ta');
"""

# What the mart builder does for a model (dbt as `SET ROLE bi_dbt`, post-hook apply_tenant_isolation):
# build across tenants, re-apply RLS, grant the mart (not the intermediate) to bi_reader; then a rebuild.
BUILD_MARTS = """
SET ROLE bi_dbt;
DROP TABLE IF EXISTS analytics.mart_login_probe, analytics.int_login_probe;
CREATE TABLE analytics.int_login_probe AS SELECT tenant_id, contact_id FROM public.contacts;
SELECT ops.enable_tenant_rls('analytics.int_login_probe'::regclass);
REVOKE ALL ON analytics.int_login_probe FROM bi_reader;
CREATE TABLE analytics.mart_login_probe__dbt_tmp AS SELECT tenant_id, contact_id FROM analytics.int_login_probe;
ALTER TABLE analytics.mart_login_probe__dbt_tmp RENAME TO mart_login_probe;
SELECT ops.enable_tenant_rls('analytics.mart_login_probe'::regclass);
GRANT SELECT ON analytics.mart_login_probe TO bi_reader;
"""

# (label, sql, tenant, expected per kind). Counts are rows seen; DENY = refused by privileges.
MATRIX: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("public read, tenant", "SELECT count(*) FROM public.contacts", "ta",
     {"app": [(1,)], "analyst": [(1,)], "pipeline": [(1,)], "dbt": [(2,)]}),
    ("public read, no tenant", "SELECT count(*) FROM public.contacts", None,
     {"app": [(0,)], "analyst": [(0,)], "pipeline": [(0,)], "dbt": [(2,)]}),
    ("tenants read, tenant", "SELECT count(*) FROM public.tenants WHERE id IN ('ta', 'tb')", "ta",
     {"app": [(1,)], "analyst": [(1,)], "pipeline": [(1,)], "dbt": [(2,)]}),
    ("raw read, tenant", "SELECT count(*) FROM raw.raw_chat_stats", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": [(1,)], "dbt": [(2,)]}),
    ("raw log read, no tenant", "SELECT count(*) FROM raw.extraction_log", None,
     {"app": DENY, "analyst": DENY, "pipeline": [(0,)], "dbt": [(2,)]}),
    ("ledger read, tenant", "SELECT count(*) FROM ops.pipeline_runs", "ta",
     {"app": [(1,)], "analyst": DENY, "pipeline": [(1,)], "dbt": DENY}),
    ("ledger read, no tenant", "SELECT count(*) FROM ops.pipeline_runs", None,
     {"app": [(0,)], "analyst": DENY, "pipeline": [(0,)], "dbt": DENY}),
    ("ledger steps, tenant", "SELECT count(*) FROM ops.pipeline_steps", "ta",
     {"app": [(1,)], "analyst": DENY, "pipeline": [(1,)], "dbt": DENY}),
    ("transform state", "SELECT count(*) FROM ops.transform_state", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": [(1,)], "dbt": DENY}),
    ("users table", "SELECT count(*) FROM ops.dashboard_users", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("users hashes, column", "SELECT password_hash FROM ops.dashboard_users", None,
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("schema_migrations", "SELECT count(*) FROM ops.schema_migrations", None,
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("mart read, tenant", "SELECT count(*) FROM analytics.mart_login_probe", "ta",
     {"app": [(1,)], "analyst": [(1,)], "pipeline": DENY, "dbt": [(2,)]}),
    ("mart read, no tenant", "SELECT count(*) FROM analytics.mart_login_probe", None,
     {"app": [(0,)], "analyst": [(0,)], "pipeline": DENY, "dbt": [(2,)]}),
    ("intermediate not granted", "SELECT count(*) FROM analytics.int_login_probe", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": [(2,)]}),
    ("public insert", "INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('ta', 'n1')", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("public insert, other tenant", "INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('tb', 'n2')",
     "ta", {"app": DENY, "analyst": DENY, "pipeline": RLS, "dbt": DENY}),
    ("public insert, no tenant", "INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('ta', 'n3')",
     None, {"app": DENY, "analyst": DENY, "pipeline": RLS, "dbt": DENY}),
    ("public update", "UPDATE public.contacts SET contact_name = 'x'", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("public update, other tenant", "UPDATE public.contacts SET contact_name = 'x' WHERE tenant_id = 'tb'",
     "ta", {"app": DENY, "analyst": DENY, "pipeline": 0, "dbt": DENY}),
    ("public delete", "DELETE FROM public.contacts", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("raw append", "INSERT INTO raw.raw_chat_stats (tenant_id, endpoint, source_data) VALUES ('ta', '/x', '{}')",
     "ta", {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("raw update", "UPDATE raw.raw_chat_stats SET endpoint = 'y'", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("raw delete", "DELETE FROM raw.extraction_log", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("ledger insert", "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode) VALUES ('run-x', 'ta', 'full')",
     "ta", {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("ledger update", "UPDATE ops.pipeline_runs SET status = 'failed'", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("transform state write", "INSERT INTO ops.transform_state (tenant_id, entity) VALUES ('ta', 'x')", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY}),
    ("queue a run", "SELECT ops.queue_pipeline_run('run-q', 'full', '{}', '/tmp/runs/q', NULL)", "ta",
     {"app": [(True,)], "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("queue a run, no tenant", "SELECT ops.queue_pipeline_run('run-q', 'full', '{}', '/tmp/q', NULL)", None,
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("queue a run, bad mode", "SELECT ops.queue_pipeline_run('run-q', 'drop', '{}', '/tmp/q', NULL)", "ta",
     {"app": BAD, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("sign-in lookup", "SELECT username, role, tenant_id FROM ops.dashboard_user_for_sign_in('matrix_viewer')",
     None, {"app": [("matrix_viewer", "viewer", "ta")], "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("sign-in stamp", "SELECT ops.dashboard_record_sign_in('matrix_viewer')", None,
     {"app": [(None,)], "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("PostgREST views", "SELECT count(*) FROM api.mart_daily_kpis", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": DENY}),
    ("mart write", "INSERT INTO analytics.mart_login_probe VALUES ('ta', 'z')", "ta",
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": 1}),
    ("create in analytics", "CREATE TABLE analytics.login_probe_new (x int)", None,
     {"app": DENY, "analyst": DENY, "pipeline": DENY, "dbt": -1}),
]  # fmt: skip

# Escalation attempts: each must be refused (SQLSTATE 42501) for every application login.
ESCALATIONS = [
    "RESET ROLE; SELECT count(*) FROM ops.dashboard_users",
    "SET ROLE {owner}",
    "SET SESSION AUTHORIZATION {owner}",
    "TRUNCATE raw.extraction_log",
    "TRUNCATE raw.raw_chat_stats",
    "TRUNCATE public.contacts",
    "TRUNCATE ops.pipeline_runs",
    "ALTER TABLE public.contacts DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE public.contacts NO FORCE ROW LEVEL SECURITY",
    "ALTER TABLE raw.raw_chat_stats DISABLE TRIGGER append_only_row",
    "ALTER TABLE raw.extraction_log DISABLE TRIGGER ALL",
    "ALTER TABLE ops.pipeline_runs ADD COLUMN x integer",
    "ALTER TABLE ops.dashboard_users OWNER TO CURRENT_USER",
    "DROP TABLE public.contacts",
    "DROP POLICY tenant_isolation ON public.contacts",
    "CREATE POLICY open ON public.contacts USING (true)",
    "CREATE TABLE public.x (a int)",
    "CREATE TABLE raw.x (a int)",
    "CREATE TABLE ops.x (a int)",
    "CREATE VIEW public.v AS SELECT 1 AS a",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA evil",
    "CREATE ROLE evil",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "ALTER ROLE CURRENT_USER BYPASSRLS",
    "ALTER ROLE CURRENT_USER CREATEROLE",
    "ALTER ROLE CURRENT_USER CREATEDB",
    "ALTER ROLE CURRENT_USER REPLICATION",
    "ALTER ROLE CURRENT_USER SET session_replication_role = replica",
    "ALTER ROLE {owner} PASSWORD 'x'",
    "GRANT bi_loader TO CURRENT_USER",
    "GRANT bi_app TO CURRENT_USER",
    "GRANT {owner} TO CURRENT_USER",
    "SET session_replication_role = replica",
    "SELECT ops.apply_login_grants()",
    "SELECT ops.grant_role_once('bi_loader', CURRENT_USER::text)",
    "SELECT ops.enable_tenant_rls('public.contacts'::regclass)",
    "SELECT ops.make_append_only('raw.extraction_log'::regclass)",
    "COPY (SELECT 1) TO PROGRAM 'true'",
    "SELECT pg_read_file('PG_VERSION')",
    "SELECT pg_ls_dir('.')",
]


def check_logins(owner_url: str, urls: dict[str, str], build_sql: str = BUILD_MARTS) -> None:
    """The whole matrix + escalations on the database of `owner_url`, for the logins of `urls`
    (`build_sql`: how the mart builder makes the probe marts; tests/citus passes Citus' way)."""
    _owner_exec(owner_url, SEED)
    owner = _owner_exec(owner_url, "SELECT current_user")[0][0]
    sessions = {k: Session(urls[k]) for k in KINDS4}
    try:
        names = {k: s.run("SELECT session_user")[0][0] for k, s in sessions.items()}
        assert len(set(names.values())) == 4 and owner not in names.values()
        build = Session(urls["dbt"])
        try:
            with build.conn.cursor() as cur:
                cur.execute(build_sql)
            build.conn.commit()
        finally:
            build.close()
        failures = []
        for label, sql, tenant, expected in MATRIX:
            for kind in KINDS4:
                got = sessions[kind].run(sql, tenant)
                want = expected[kind]
                if want == -1:  # DDL: no rows, no refusal
                    ok = got not in (DENY, RLS, BAD)
                else:
                    ok = got == want
                if not ok:
                    failures.append(f"{label} as {kind}: got {got!r}, expected {want!r}")
        for template in ESCALATIONS:
            sql = template.format(owner=f'"{owner}"')
            for kind in KINDS4:
                for tenant in ("ta", None):
                    got = sessions[kind].run(sql, tenant)
                    if got != DENY:
                        failures.append(f"escalation {sql!r} as {kind} (tenant {tenant}): {got!r}")
        assert not failures, "\n".join(failures)
        for kind, s in sessions.items():
            _check_set_role(s, kind, names[kind])
            _check_attributes(s, kind, names[kind])
            _check_reader_without_tenant(s, kind)
        # the mart builder did not bypass RLS: its marts stay forced, owned by its group
        forced = _owner_exec(
            owner_url,
            "SELECT c.relname, c.relforcerowsecurity, pg_get_userbyid(c.relowner) FROM pg_class c "
            "WHERE c.oid IN ('analytics.mart_login_probe'::regclass, 'analytics.int_login_probe'::regclass)",
        )
        assert sorted(forced) == [("int_login_probe", True, "bi_dbt"), ("mart_login_probe", True, "bi_dbt")]
    finally:
        for s in sessions.values():
            s.close()


def _check_set_role(s: Session, kind: str, name: str) -> None:
    """SET ROLE succeeds only towards the login's own groups, none of them SUPERUSER or BYPASSRLS."""
    roles = [r[0] for r in s.run("SELECT rolname FROM pg_roles WHERE rolname <> session_user")]
    allowed = {r for r in roles if s.run(f'SET ROLE "{r}"; SELECT 1') == [(1,)]}
    assert allowed == GROUP_CHAIN[kind], f"{kind} ({name}) may SET ROLE to {sorted(allowed)}"
    listed = ",".join(sorted(allowed))
    sql = "SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND rolname = ANY('{%s}')" % listed  # noqa: S608, UP031
    elevated = s.run(sql)
    assert elevated == []


def _check_attributes(s: Session, kind: str, name: str) -> None:
    attrs = s.run(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication, rolcanlogin, rolinherit "
        "FROM pg_roles WHERE rolname = session_user"
    )
    assert attrs == [(False, False, False, False, False, True, True)], (kind, attrs)
    groups = s.run(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)"
    )
    assert groups == [(KINDS[kind].group,)], (kind, groups)


def _check_reader_without_tenant(s: Session, kind: str) -> None:
    """Without a tenant, every tenant table the login may read returns no row (the marts included)."""
    tables = s.run(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('public', 'raw', 'ops', 'analytics', 'api') AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1"
    )
    readable = [t[0] for t in tables]
    if kind in ("app", "analyst"):
        assert {"public.contacts", "public.tenants", "analytics.mart_login_probe"} <= set(readable)
        assert not [t for t in readable if t.startswith(("raw.", "api."))], readable
        assert ("ops.dashboard_users" in readable) is False
        if kind == "analyst":
            assert not [t for t in readable if t.startswith("ops.")], readable
        for table in readable:
            seen = s.run(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert seen == [(0,)], f"{kind} sees rows of {table} without a tenant"


def check_passwords(urls: dict[str, str]) -> None:
    """Each login gets in with its own password only."""
    from sqlalchemy.engine import make_url

    for kind, url in urls.items():
        other = urls["app" if kind != "app" else "pipeline"]
        wrong = make_url(url).set(password=make_url(other).password)
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(to_dsn(wrong)).close()
        psycopg2.connect(to_dsn(url)).close()


# --- the embedded PostgreSQL 18 ----------------------------------------------------------------------
def test_matrix_on_the_embedded_server(fresh_db_url: str) -> None:
    migrate(fresh_db_url)
    urls = {k: login_url(k, fresh_db_url) for k in KINDS4}
    check_passwords(urls)
    check_logins(fresh_db_url, urls)
    assert migrate(fresh_db_url) == []  # idempotent, grants and logins included
    check_logins_unchanged_after_remigrate(fresh_db_url, urls)


def check_logins_unchanged_after_remigrate(owner_url: str, urls: dict[str, str]) -> None:
    for kind in KINDS4:
        s = Session(urls[kind])
        try:
            _check_attributes(s, kind, "")
        finally:
            s.close()


def test_embedded_logins_are_generated_owner_only(db_url: str) -> None:
    from lib.db.embedded import cluster_dir_of
    from lib.db.logins import read_store, store_dir

    folder = store_dir(cluster_dir_of(db_url))
    store = read_store(folder)
    assert set(store) == set(KINDS4)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "logins.json").stat().st_mode & 0o777) == "0o600"
    passwords = [c["password"] for c in store.values()]
    assert len(set(passwords)) == 4 and all(len(p) >= 24 for p in passwords)
    reload_settings()
    leaked = set(secret_values())
    assert set(passwords) <= leaked  # the secret scan knows them (via the scratch URLs and the store)


def test_a_login_url_naming_the_owner_or_a_group_is_refused(fresh_db_url: str, monkeypatch) -> None:
    migrate(fresh_db_url)
    for name in ("postgres", "bi_loader", "bi_reader"):
        monkeypatch.setenv("ANALYST_DATABASE_URL", f"postgresql://{name}:pw-{secrets.token_hex(4)}@/x")
        reload_settings()
        with pytest.raises(ConfigError, match="ANALYST_DATABASE_URL names the role"):
            ensure_logins(fresh_db_url)
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql://bi_app_login:pw-1234567@/x")
    reload_settings()
    with pytest.raises(ConfigError, match="more than one"):
        ensure_logins(fresh_db_url)
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql://bi_someone@/x")
    reload_settings()
    with pytest.raises(ConfigError, match="must name a login and its password"):
        ensure_logins(fresh_db_url)
    monkeypatch.undo()
    reload_settings()


# --- where a process finds its URL (no server needed) -------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for var in ("DATABASE_URL", *LOGIN_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("BI_DATA_DIR", str(tmp_path / "data"))
    reload_settings()
    dispose_engines()
    yield monkeypatch
    monkeypatch.undo()
    reload_settings()


def test_external_server_without_a_login_url_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    from lib.db import get_engine

    clean_env.setenv("APP_DATABASE_URL", "postgresql://bi_app_login:app-pw-123456@db.example:5432/bi")
    reload_settings()
    assert login_url("reader").startswith("postgresql+psycopg2://bi_app_login:app-pw-123456@db.example")
    with pytest.raises(ConfigError, match="PIPELINE_DATABASE_URL is not set") as err:
        get_engine("loader")
    assert "app-pw-123456" not in str(err.value)
    with pytest.raises(ConfigError, match="DBT_DATABASE_URL is not set"):
        login_url("dbt")
    with pytest.raises(ConfigError, match="DATABASE_URL is not set: it is the owner's login"):
        get_engine("owner")  # never an embedded server, never a fallback
    clean_env.setenv("DATABASE_URL", "postgresql://postgres:owner-pw-123456@db.example:5432/bi")
    reload_settings()
    with pytest.raises(ConfigError, match="ANALYST_DATABASE_URL is not set") as err:
        login_url("analyst")
    assert "owner-pw-123456" not in str(err.value)
    with pytest.raises(ValueError, match="unknown role"):
        get_engine("superuser")  # type: ignore[arg-type]
    # another database of the same server keeps the role's own login
    other = login_url("app", "postgresql://postgres:owner-pw-123456@db.example:5432/scratch")
    assert other == "postgresql+psycopg2://bi_app_login:app-pw-123456@db.example:5432/scratch"


def test_secret_values_hold_every_login_password(clean_env: pytest.MonkeyPatch) -> None:
    pws = {var: f"pw-{var.lower()}-{secrets.token_hex(4)}" for var in LOGIN_VARS}
    for var, pw in pws.items():
        clean_env.setenv(var, f"postgresql://{var.lower()}:{pw}@db.example/bi")
    reload_settings()
    assert set(pws.values()) <= set(secret_values())


# --- PostgreSQL 15 with Supabase's role shape ----------------------------------------------------------
@pytest.fixture(scope="module")
def supabase15() -> Iterator[dict[str, Any]]:
    """A PG 15 cluster (TCP, scram) shaped like Supabase: migrations run as `postgres`, not a superuser."""
    if not (PG15_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 binaries not installed")
    with local_cluster("bi-sb15", tcp=True, superuser="supabase_admin") as cluster:
        supabase_roles(cluster)
        owner_pw = secrets.token_urlsafe(16)
        cluster.psql(f"ALTER ROLE postgres PASSWORD '{owner_pw}'")
        yield {
            "cluster": cluster,
            "owner": cluster.url("postgres", user="postgres", password=owner_pw),
            "owner_pw": owner_pw,
        }


def _login_urls(cluster, names: dict[str, str] | None = None) -> dict[str, str]:
    names = names or {k: f"sb_{k}" for k in KINDS4}
    return {k: cluster.url("postgres", user=names[k], password=secrets.token_urlsafe(18)) for k in KINDS4}


def _bi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args], env=env, capture_output=True, text=True, timeout=180, cwd=ROOT
    )


@pytest.mark.pg15
def test_supabase_owner_cannot_make_a_bypassrls_role(supabase15: dict[str, Any]) -> None:
    """Why the mart builder gets a policy instead of BYPASSRLS: on PG 15 only a superuser may grant it."""
    attrs = _owner_exec(supabase15["owner"], "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles "
                        "WHERE rolname = current_user")  # fmt: skip
    assert attrs == [(False, True, True)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="(?i)bypassrls"):
        _owner_exec(supabase15["owner"], "CREATE ROLE would_bypass NOLOGIN BYPASSRLS")


@pytest.mark.pg15
def test_bi_db_migrate_creates_updates_and_explains_logins_on_supabase_15(
    supabase15: dict[str, Any], tmp_path: Path
) -> None:
    cluster, owner = supabase15["cluster"], supabase15["owner"]
    urls = _login_urls(cluster)
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *LOGIN_VARS)}
    base.update(
        BI_DATA_DIR=str(tmp_path / "data"), TENANTS_FILE=str(tmp_path / "none.yml"), DATABASE_URL=owner
    )
    from sqlalchemy.engine import make_url

    secrets_out = [supabase15["owner_pw"], *(make_url(u).password for u in urls.values())]

    # only two URLs set: those two are created, the others are explained (no password printed)
    first = _bi("db", "migrate", env={**base, "APP_DATABASE_URL": urls["app"],
                                     "PIPELINE_DATABASE_URL": urls["pipeline"]})  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout + first.stderr
    assert "login sb_app created" in out and "login sb_pipeline created" in out
    assert "ANALYST_DATABASE_URL is not set" in out and "DBT_DATABASE_URL is not set" in out
    assert "bi_analyst_login:<password>@127.0.0.1" in out and "member of bi_analyst" in out
    assert mask(urls["app"]) in out
    for pw in secrets_out:
        assert pw not in out

    env = {**base, **{KINDS[k].env: u for k, u in urls.items()}}
    second = _bi("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "none (schema is current)" in second.stdout
    assert "login sb_analyst created" in second.stdout and "login sb_dbt created" in second.stdout
    for pw in secrets_out:
        assert pw not in second.stdout + second.stderr
    check_passwords(urls)

    # a new password in the URL: `bi db migrate` sets it; the old one stops working
    new_app = (
        make_url(urls["app"]).set(password=secrets.token_urlsafe(18)).render_as_string(hide_password=False)
    )
    third = _bi("db", "migrate", env={**env, "APP_DATABASE_URL": new_app})
    assert third.returncode == 0 and "login sb_app updated" in third.stdout
    assert make_url(new_app).password not in third.stdout + third.stderr
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(to_dsn(urls["app"])).close()
    urls["app"] = new_app
    check_passwords(urls)
    check_logins(owner, urls)

    # migrations stay idempotent on PG 15 (schema, grants, policies)
    snap = "SELECT count(*), string_agg(polname || ':' || polrelid::regclass::text, ',' ORDER BY 1) FROM pg_policy"
    before = _owner_exec(owner, snap)
    fourth = _bi("db", "migrate", env={**env, "APP_DATABASE_URL": new_app})
    assert fourth.returncode == 0 and "none (schema is current)" in fourth.stdout
    assert _owner_exec(owner, snap) == before


def test_supabase_pooler_users_name_their_role_without_the_project_ref() -> None:
    from lib.db.logins import role_name

    assert role_name("bi_app_login.abcdefghij", "postgres.abcdefghij") == "bi_app_login"
    assert role_name("bi_app_login.abcdefghij", "postgres") == "bi_app_login.abcdefghij"
    assert role_name("bi_app_login", "postgres.abcdefghij") == "bi_app_login"
    assert role_name("bi_app_login.other", "postgres.abcdefghij") == "bi_app_login.other"


def test_tables_of_later_migrations_get_the_grants(fresh_db_url: str) -> None:
    """A table a later migration adds (no grant line of its own) gets the rules at the next migrate."""
    migrate(fresh_db_url)
    _owner_exec(
        fresh_db_url,
        """
        CREATE TABLE public.late_coverage (id serial PRIMARY KEY, tenant_id text NOT NULL, entity text);
        SELECT ops.enable_tenant_rls('public.late_coverage');
        CREATE TABLE raw.raw_late (id serial PRIMARY KEY, tenant_id text NOT NULL, source_data jsonb);
        SELECT ops.make_append_only('raw.raw_late'); SELECT ops.enable_tenant_rls('raw.raw_late');
        CREATE TABLE ops.late_sessions (tenant_id text NOT NULL, sid text);
        SELECT ops.enable_tenant_rls('ops.late_sessions');
        GRANT SELECT ON ops.late_sessions TO bi_reader;  -- meant for the dashboards
        GRANT SELECT ON ALL TABLES IN SCHEMA raw TO bi_reader;  -- an old habit: must not stick
        INSERT INTO public.late_coverage (tenant_id, entity) VALUES ('ta', 'messages'), ('tb', 'messages');
        INSERT INTO ops.late_sessions VALUES ('ta', 's1'), ('tb', 's2');
        """,
    )
    assert migrate(fresh_db_url) == []  # no file changed: the grants are re-applied all the same
    urls = {k: login_url(k, fresh_db_url) for k in KINDS4}
    sessions = {k: Session(urls[k]) for k in KINDS4}
    try:
        expected = {
            ("SELECT count(*) FROM public.late_coverage", "ta"): {
                "app": [(1,)], "analyst": [(1,)], "pipeline": [(1,)], "dbt": [(2,)]},
            ("SELECT count(*) FROM public.late_coverage", None): {
                "app": [(0,)], "analyst": [(0,)], "pipeline": [(0,)], "dbt": [(2,)]},
            ("INSERT INTO public.late_coverage (tenant_id, entity) VALUES ('ta', 'x')", "ta"): {
                "app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY},
            ("INSERT INTO raw.raw_late (tenant_id, source_data) VALUES ('ta', '{}')", "ta"): {
                "app": DENY, "analyst": DENY, "pipeline": 1, "dbt": DENY},
            ("SELECT count(*) FROM raw.raw_late", "ta"): {
                "app": DENY, "analyst": DENY, "pipeline": [(0,)], "dbt": [(0,)]},
            ("SELECT count(*) FROM raw.raw_chat_stats", "ta"): {
                "app": DENY, "analyst": DENY, "pipeline": [(0,)], "dbt": [(0,)]},
            ("SELECT count(*) FROM ops.late_sessions", "ta"): {
                "app": [(1,)], "analyst": DENY, "pipeline": DENY, "dbt": DENY},
        }  # fmt: skip
        got = {
            (sql, tenant, kind): sessions[kind].run(sql, tenant)
            for (sql, tenant), per_kind in expected.items()
            for kind in per_kind
        }
        want = {(sql, tenant, kind): v for (sql, tenant), per in expected.items() for kind, v in per.items()}
        assert got == want
    finally:
        for s in sessions.values():
            s.close()
