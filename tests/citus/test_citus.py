"""The platform on a Citus cluster (issue 18): a coordinator and two workers on loopback, `bi db migrate`
in Citus mode, the full pipeline (papermill notebooks, dbt build) for two tenants against the simulator,
and the same on a single PostgreSQL 15 node (the same build, without Citus). Checks: every tenant table
distributed by tenant_id in one co-location group; public.* and every dbt table equal to the single
node's, row by row; the dashboards' own queries routed to the tenant's worker (EXPLAIN: one task) with
the single node's answers; RLS for every login on the coordinator (the allow/deny matrix of
tests/test_db_logins.py); raw append-only; a table added later distributed by the next migrate.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from test_db_logins import RLS, Session, check_logins, check_passwords

from lib.db.citus_cluster import CitusCluster, Deployment, bi, citus_cluster, deploy, single_node
from lib.db.urls import to_dsn

pytestmark = [pytest.mark.slow, pytest.mark.citus]

ROOT = Path(__file__).resolve().parents[2]
TENANTS = (("coop_norte", "100274", "America/Bogota"), ("coop_sur", "200300", "America/Lima"))
DATE_FROM, DATE_TO = "2026-01-05", "2026-01-18"
# Set by the run itself, not by the data: excluded from the row-by-row comparison (in the marts,
# source_updated_at and sessions_updated_at are public.*'s updated_at, message_pk public.messages.id,
# built_at and computed_at the dbt build: the incremental models' bookkeeping).
RUN_TIME_COLUMNS = {"id", "updated_at", "created_at", "last_sync_at", "loaded_at"}
MART_RUN_TIME_COLUMNS = RUN_TIME_COLUMNS | {
    "source_updated_at",
    "sessions_updated_at",
    "message_pk",
    "built_at",
    "computed_at",
}


def _compared_columns(url: str, table: str) -> list[str]:
    skip = MART_RUN_TIME_COLUMNS if table.startswith("analytics.") else RUN_TIME_COLUMNS
    return [c for c in _columns(url, table) if c not in skip]


def _same(value: Any) -> Any:
    """A float as its 12 significant digits: a sum of doubles depends on the order it was added in."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list | tuple):
        return type(value)(_same(v) for v in value)
    return value


# --- helpers -------------------------------------------------------------------------------------------
def q(url: str, sql: str, params: Any = None) -> list[tuple]:
    """Rows of `sql` on `url` (autocommit)."""
    conn = psycopg2.connect(to_dsn(url))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


@dataclass
class Deployed:
    dep: Deployment
    env: dict[str, str]
    cluster: CitusCluster | None = None

    @property
    def owner(self) -> str:
        return self.dep.owner_url


def _world_env(scratch: Path, sim_url: str, keys: dict[str, str]) -> dict[str, str]:
    tenants = scratch / "tenants.yml"
    tenants.write_text(
        "tenants:\n"
        + "".join(
            f"  - id: {t}\n    name: {t.title()}\n    application_ids: ['{app}']\n    timezone: {tz}\n"
            f"    server_key_env: KEY_{t.upper()}\n"
            for t, app, tz in TENANTS
        ),
        encoding="utf-8",
    )
    drop = ("INDIGITALL_SERVER_KEY", "INDIGITALL_APP_ID", "TENANT_ID", "TENANT_TIMEZONE", "BI_PIPELINE_FAULT")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k not in drop}
    env.update(
        TENANTS_FILE=str(tenants), INDIGITALL_BASE_URL=sim_url, TENANT_ID=TENANTS[0][0],
        HOME=str(scratch / "home"), BI_CLOCK_NOW="2026-01-19T12:00:00+00:00",
        **{f"KEY_{t.upper()}": keys[t] for t, _, _ in TENANTS},
    )  # fmt: skip
    return env


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, citus_root: Path
) -> Iterator[tuple[Path, dict[str, str]]]:
    """(After the Citus build, conftest.py: skips only when it cannot run here.) The simulator with two tenants (a key each) and the environment every `bi` process starts from."""
    from lib.simulator import SimTenant, start_in_thread

    scratch = tmp_path_factory.mktemp("citus")
    keys = {t: f"sim-{t}-{secrets.token_hex(6)}" for t, _, _ in TENANTS}
    sim = start_in_thread(
        port=0, tenants=[SimTenant(t, (app,), tz, keys[t]) for t, app, tz in TENANTS], server_key=None
    )
    try:
        yield scratch, _world_env(scratch, sim.url, keys)
    finally:
        sim.stop()


def _run_pipelines(name: str, dep: Deployment, base: dict[str, str], folder: Path) -> dict[str, str]:
    env = {**base, **dep.env, "BI_DATA_DIR": str(folder / "data"), "RUNS_DIR": str(folder / "runs")}
    for tenant, _, _ in TENANTS:
        run = bi(
            "run",
            "--mode",
            "full",
            "--tenant",
            tenant,
            "--date-from",
            DATE_FROM,
            "--date-to",
            DATE_TO,
            env=env,
        )
        assert run.returncode == 0, f"{name}, tenant {tenant}:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    return env


@pytest.fixture(scope="module")
def citus(world: tuple[Path, dict[str, str]]) -> Iterator[Deployed]:
    """Coordinator + 2 workers, migrated in Citus mode, the pipeline run for both tenants."""
    scratch, base = world
    with citus_cluster(workers=2, prefix="bi-ct") as cluster:
        dep = deploy("citus", cluster.url(), login_url=cluster.url, allow=cluster.allow_login, base_env=base)
        yield Deployed(dep, _run_pipelines("citus", dep, base, scratch / "citus"), cluster)


@pytest.fixture(scope="module")
def single(world: tuple[Path, dict[str, str]]) -> Iterator[Deployed]:
    """The same PostgreSQL 15 build without Citus, same migrations, same pipeline runs."""
    scratch, base = world
    with single_node(prefix="bi-ct-1") as (node, owner):
        dep = deploy(
            "single", owner, login_url=lambda u, p: node.url("bi", user=u, password=p), base_env=base
        )
        yield Deployed(dep, _run_pipelines("single node", dep, base, scratch / "single"))


def _placements(url: str) -> dict[str, str]:
    from lib.db import get_engine
    from lib.db.citus import placements

    with get_engine("owner", url).connect() as conn:
        return placements(conn)


def _tables(url: str, schemas: tuple[str, ...]) -> list[str]:
    """The data tables of `schemas`; not analytics.bi_change_log, dbt's bookkeeping between incremental
    builds on one node (dbt/macros/change_log.sql), which a Citus build never needs."""
    return [
        r[0]
        for r in q(
            url,
            "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "ORDER BY 1",
            (list(schemas),),
        )
        if r[0] != "analytics.bi_change_log"
    ]


def _columns(url: str, table: str) -> list[str]:
    return [
        r[0]
        for r in q(
            url,
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            (table,),
        )
    ]


def _rows(url: str, table: str, cols: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in cols)
    order = ", ".join(str(i + 1) for i in range(len(cols)))
    rows = q(url, f"SELECT {listed} FROM {table} ORDER BY {order}")  # noqa: S608 - catalog names
    return sorted((tuple(_same(v) for v in r) for r in rows), key=repr)


# --- placement ---------------------------------------------------------------------------------------
def test_migrate_distributes_every_tenant_table_by_tenant(citus: Deployed, single: Deployed) -> None:
    placed = _placements(citus.owner)
    with_tenant = {
        r[0]
        for r in q(
            citus.owner,
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
            "WHERE n.nspname IN ('raw', 'public', 'ops', 'analytics') AND c.relkind = 'r'",
        )
    }
    assert len(with_tenant) >= 35  # raw 9, public 10, ops 2+, dbt's tables
    for table in sorted(with_tenant):
        if table.startswith("ops.") and placed[table].startswith("local: "):
            # documented exceptions: keys of their own (the run ledger), admins without a tenant
            assert placed[table].split(" (")[0] in (
                "local: unique key without tenant_id",
                "local: tenant_id may be NULL",
            ), (table, placed[table])
            continue
        assert placed[table] == "distributed", (table, placed[table])
    assert {t for t, p in placed.items() if p == "reference"} == {"public.tenants"}
    assert placed["ops.pipeline_runs"].startswith("local: unique key without tenant_id")
    assert placed["ops.dashboard_users"] == "local: tenant_id may be NULL"
    assert placed["ops.transform_state"] == placed["analytics.mart_daily_kpis"] == "distributed"
    # one co-location group, shards on both workers; `bi db migrate` said so
    groups = q(
        citus.owner, "SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = 'h'"
    )
    assert groups == [(1,)]
    nodes = q(
        citus.owner,
        "SELECT count(DISTINCT pl.groupid) FROM pg_dist_placement pl JOIN pg_dist_shard s USING (shardid) "
        "JOIN pg_dist_partition p USING (logicalrelid) WHERE p.partmethod = 'h'",
    )
    assert nodes == [(2,)]
    assert "tables distributed by tenant_id over 2 worker(s), 1 reference" in citus.dep.migrate_output
    assert "citus:" not in single.dep.migrate_output and _placements(single.owner) == {}


def test_keys_hold_tenant_id_on_both_servers(citus: Deployed, single: Deployed) -> None:
    """The same keys on the single node and on Citus: surrogate keys became (tenant_id, id)."""
    sql = (
        "SELECT format('%I.%I', n.nspname, c.relname), k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('raw', 'public') AND k.contype IN ('p', 'u', 'f') ORDER BY 1, 2, 3"
    )
    keys = q(single.owner, sql)
    assert keys == q(citus.owner, sql)
    pks = {t: d for t, kind, d in keys if kind == "p"}
    assert pks["public.messages"] == pks["raw.raw_chat_stats"] == "PRIMARY KEY (tenant_id, id)"
    assert pks["public.tenants"] == "PRIMARY KEY (id)"
    assert all("tenant_id" in d for t, d in pks.items() if t != "public.tenants"), pks


# --- the same data as on one node ----------------------------------------------------------------------
def test_every_run_succeeded_on_both(citus: Deployed, single: Deployed) -> None:
    sql = (
        "SELECT r.tenant_id, r.status, count(s.*), count(*) FILTER (WHERE s.status = 'success'), "
        "bool_or(s.step = 'dbt_build' AND s.status = 'success') FROM ops.pipeline_runs r "
        "JOIN ops.pipeline_steps s USING (run_id) GROUP BY 1, 2 ORDER BY 1"
    )
    got = q(citus.owner, sql)
    assert got == q(single.owner, sql)
    assert [(t, st, ok) for t, st, _, _, ok in got] == [(t, "success", True) for t, _, _ in TENANTS]
    assert all(n == ok and n >= 20 for _, _, n, ok, _ in got), got


def test_public_and_every_dbt_table_equal_the_single_node_row_by_row(
    citus: Deployed, single: Deployed
) -> None:
    tables = _tables(single.owner, ("public", "analytics"))
    assert tables == _tables(citus.owner, ("public", "analytics"))
    assert {"public.messages", "analytics.fct_messages", "analytics.mart_daily_kpis"} <= set(tables)
    compared, diffs = 0, []
    for table in tables:
        cols = _compared_columns(single.owner, table)
        assert cols == _compared_columns(citus.owner, table), table
        one, many = _rows(single.owner, table, cols), _rows(citus.owner, table, cols)
        if one != many:
            a, b = Counter(one), Counter(many)
            x, y = next(iter(a - b), ()), next(iter(b - a), ())
            cells = [(c, u, v) for c, u, v in zip(cols, x, y, strict=False) if u != v]
            diffs.append(
                f"{table}: {len(one)} vs {len(many)} rows, {sum((a - b).values())} differ; "
                f"first: {x[:3]} single/citus {cells}"
            )
        compared += len(one)
    assert not diffs, "\n".join(diffs)
    tenants = {r[0] for r in q(citus.owner, "SELECT DISTINCT tenant_id FROM analytics.fct_messages")}
    assert tenants == {t for t, _, _ in TENANTS} and compared > 50_000


def test_a_full_refresh_upserts_in_place(citus: Deployed, single: Deployed) -> None:
    """Every transform again from all raw: ON CONFLICT ... DO UPDATE ... WHERE on the distributed tables."""
    tenant = TENANTS[1][0]
    before = {t: _rows(citus.owner, t, _columns(citus.owner, t)) for t in _tables(citus.owner, ("public",))}
    for d in (citus, single):
        run = bi("transform", "--tenant", tenant, "--full-refresh", env=d.env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "FAILED" not in run.stdout
    after = {t: _rows(citus.owner, t, _columns(citus.owner, t)) for t in before}
    assert after == before  # nothing changed: not even updated_at (the WHERE of the upserts held)
    for table in ("public.messages", "public.daily_stats", "public.contacts"):
        cols = _compared_columns(single.owner, table)
        assert _rows(single.owner, table, cols) == _rows(citus.owner, table, cols)


# --- the dashboards' queries: one task on the tenant's worker ----------------------------------------
def _dashboard_params(tenant: str) -> dict[str, Any]:
    return {
        "tenant": tenant, "start": dt.date.fromisoformat(DATE_FROM), "end": dt.date.fromisoformat(DATE_TO),
        "channel": "all", "row_limit": 500, "hour": 10, "weekday_num": 2, "sl_default": 60,
        "run_id": "none", "step": "none",
    }  # fmt: skip


def _psycopg(sql: str) -> str:
    """A `.sql` of dash_app/queries (`:name` binds) in psycopg2's `%(name)s` style."""
    return re.sub(r"(?<![:\w]):([a-z_]+)\b", r"%(\1)s", sql.replace("%", "%%"))


def _as_app(url: str, tenant: str, sql: str, params: dict[str, Any]) -> list[tuple]:
    conn = psycopg2.connect(to_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL app.tenant_id = %s", (tenant,))  # as lib.db.tenant_tx
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.rollback()
        conn.close()


def test_dashboard_queries_run_as_one_task_on_the_tenants_worker(citus: Deployed, single: Deployed) -> None:
    from dash_app.queries.db import SQL_DIR, load_sql

    assert citus.cluster is not None
    workers = {w.port for w in citus.cluster.workers}
    routed = 0
    for tenant, _, _ in TENANTS:
        home = q(
            citus.owner,
            "SELECT DISTINCT n.nodeport FROM pg_dist_placement pl JOIN pg_dist_node n USING (groupid) "
            "WHERE pl.shardid = get_shard_id_for_distribution_column('analytics.mart_daily_kpis', %s)",
            (tenant,),
        )
        assert len(home) == 1 and home[0][0] in workers
        params = _dashboard_params(tenant)
        for path in sorted(SQL_DIR.glob("*.sql")):
            sql = _psycopg(load_sql(path.stem))
            plan = "\n".join(r[0] for r in _as_app(citus.dep.logins["app"], tenant, "EXPLAIN " + sql, params))
            tasks = re.findall(r"Task Count: (\d+)", plan)
            if not tasks:  # the run ledger: tables on the coordinator, no distributed table read
                assert "Citus" not in plan and "ops." in sql and "analytics." not in sql, path.name
                continue
            nodes = {int(p) for p in re.findall(r"Node: host=\S+ port=(\d+)", plan)}
            assert tasks == ["1"] * len(tasks) and nodes == {home[0][0]}, f"{path.name} ({tenant}):\n{plan}"
            answer = _same(_as_app(citus.dep.logins["app"], tenant, sql, params))
            assert answer == _same(_as_app(single.dep.logins["app"], tenant, sql, params)), path.name
            routed += 1
    on_marts = [p for p in SQL_DIR.glob("*.sql") if "analytics." in p.read_text(encoding="utf-8")]
    assert on_marts and routed >= len(TENANTS) * len(on_marts), (routed, [p.name for p in on_marts])


# --- isolation ---------------------------------------------------------------------------------------
def test_each_login_reads_only_its_tenant_of_the_real_data(citus: Deployed) -> None:
    counted = 0
    for kind in ("app", "analyst", "pipeline", "dbt"):
        s = Session(citus.dep.logins[kind])
        try:
            readable = [
                r[0]
                for r in s.run(
                    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
                    "WHERE n.nspname IN ('public', 'raw', 'analytics') AND c.relkind = 'r' "
                    "AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1"
                )
            ]
            assert readable, kind
            for table in readable:
                total = q(citus.owner, f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1")  # noqa: S608
                per = dict(total)
                none = s.run(f"SELECT count(*) FROM {table}")  # noqa: S608
                assert none == [(sum(per.values()) if kind == "dbt" else 0,)], (kind, table)
                for tenant, _, _ in TENANTS:
                    seen = s.run(f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1", tenant)  # noqa: S608
                    want = (
                        sorted(total) if kind == "dbt" else ([(tenant, per[tenant])] if tenant in per else [])
                    )
                    assert sorted(seen) == want, (kind, table, tenant)
                    counted += 1
        finally:
            s.close()
    assert counted > 100


# What dbt does on Citus for the probe marts of the matrix (dbt/macros/citus.sql): no SET ROLE, a table
# created empty, handed to bi_dbt, distributed, filled; then the post-hook's RLS and grants. (dbt sends
# the rename as a statement of its own: Citus forwards a RENAME with the text of the whole query
# string, which the workers refuse when it holds several statements.)
CITUS_BUILD_MARTS = """
DROP TABLE IF EXISTS analytics.mart_login_probe, analytics.int_login_probe;
CREATE TABLE analytics.int_login_probe AS SELECT tenant_id, contact_id FROM public.contacts WITH NO DATA;
ALTER TABLE analytics.int_login_probe OWNER TO bi_dbt;
SELECT ops.citus_distribute('analytics.int_login_probe'::regclass, tenant_required => true);
INSERT INTO analytics.int_login_probe SELECT tenant_id, contact_id FROM public.contacts;
SELECT ops.enable_tenant_rls('analytics.int_login_probe'::regclass);
REVOKE ALL ON analytics.int_login_probe FROM bi_reader;
CREATE TABLE analytics.mart_login_probe__dbt_tmp AS SELECT tenant_id, contact_id FROM analytics.int_login_probe
    WITH NO DATA;
ALTER TABLE analytics.mart_login_probe__dbt_tmp OWNER TO bi_dbt;
SELECT ops.citus_distribute('analytics.mart_login_probe__dbt_tmp'::regclass, tenant_required => true);
INSERT INTO analytics.mart_login_probe__dbt_tmp SELECT tenant_id, contact_id FROM analytics.int_login_probe;
DO $$ BEGIN EXECUTE 'ALTER TABLE analytics.mart_login_probe__dbt_tmp RENAME TO mart_login_probe'; END $$;
SELECT ops.enable_tenant_rls('analytics.mart_login_probe'::regclass);
GRANT SELECT ON analytics.mart_login_probe TO bi_reader;
"""


@pytest.fixture(scope="module")
def citus_fresh(world: tuple[Path, dict[str, str]]) -> Iterator[Deployed]:
    """A second cluster, migrated and empty: the matrix expects its own seed rows only (~20 s)."""
    _, base = world
    with citus_cluster(workers=2, prefix="bi-ctm") as cluster:
        dep = deploy(
            "citus-fresh", cluster.url(), login_url=cluster.url, allow=cluster.allow_login, base_env=base
        )
        yield Deployed(dep, {**base, **dep.env}, cluster)


def test_rls_and_privileges_hold_on_the_coordinator_for_every_login(citus_fresh: Deployed) -> None:
    """tests/test_db_logins.py's whole matrix and escalation attempts, on distributed tables."""
    citus = citus_fresh
    check_passwords(citus.dep.logins)
    check_logins(citus.owner, citus.dep.logins, build_sql=CITUS_BUILD_MARTS)
    placed = _placements(citus.owner)
    assert placed["analytics.mart_login_probe"] == placed["public.contacts"] == "distributed"
    # the policies are on the shards too (they run there): every shard of a tenant table has them
    for table in ("public.contacts", "raw.raw_chat_stats", "analytics.mart_login_probe"):
        counts = q(
            citus.owner,
            "SELECT result FROM run_command_on_shards(%s, $$SELECT string_agg(polname, ',' ORDER BY polname) "
            "FROM pg_policy WHERE polrelid = '%%s'::regclass$$)",
            (table,),
        )
        assert counts and {c[0] for c in counts} == {"mart_builder,tenant_isolation"}, (table, counts)


def test_raw_stays_append_only_for_the_owner_too(citus: Deployed) -> None:
    for sql in (
        "UPDATE raw.raw_chat_stats SET endpoint = 'x'",
        "DELETE FROM raw.extraction_log",
        "TRUNCATE raw.raw_push_stats",
    ):
        with pytest.raises(psycopg2.Error, match="append-only"):
            q(citus.owner, sql)
    assert q(citus.owner, "SELECT count(*) > 0 FROM raw.raw_chat_stats") == [(True,)]


def test_a_table_added_later_is_keyed_and_distributed_by_the_next_migrate(
    citus: Deployed, single: Deployed
) -> None:
    """As another engineer's migration would add it: a surrogate id key, a VARCHAR tenant, RLS."""
    ddl = """
        CREATE TABLE public.late_probe (id SERIAL PRIMARY KEY, tenant_id VARCHAR(50) NOT NULL, entity TEXT NOT NULL,
                                        CONSTRAINT uq_late_probe UNIQUE (tenant_id, entity));
        SELECT ops.enable_tenant_rls('public.late_probe');
        INSERT INTO public.late_probe (tenant_id, entity) VALUES ('coop_norte', 'a'), ('coop_sur', 'b');
    """
    for d in (citus, single):
        q(d.owner, ddl)
        run = bi("db", "migrate", env=d.env)
        assert run.returncode == 0 and "none (schema is current)" in run.stdout, run.stderr[-2000:]
        pk = q(d.owner, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                        "'public.late_probe'::regclass AND contype = 'p'")  # fmt: skip
        assert pk == [("PRIMARY KEY (tenant_id, id)",)]
        s = Session(d.dep.logins["pipeline"])
        try:
            assert s.run("SELECT entity FROM public.late_probe", "coop_sur") == [("b",)]
            assert (
                s.run(
                    "INSERT INTO public.late_probe (tenant_id, entity) VALUES ('coop_norte', 'x')", "coop_sur"
                )
                == RLS
            )
            assert (
                s.run(
                    "INSERT INTO public.late_probe (tenant_id, entity) VALUES ('coop_sur', 'c')", "coop_sur"
                )
                == 1
            )
        finally:
            s.close()
        reader = Session(d.dep.logins["app"])
        try:
            assert reader.run("SELECT entity FROM public.late_probe", "coop_norte") == [("a",)]
        finally:
            reader.close()
    assert _placements(citus.owner)["public.late_probe"] == "distributed"
    assert q(citus.owner, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                          "'public.late_probe'::regclass AND attname = 'tenant_id'") == [("text",)]  # fmt: skip
    with pytest.raises(psycopg2.Error, match="tenant_len"):  # the VARCHAR(50) limit is kept as a CHECK
        q(citus.owner, "INSERT INTO public.late_probe (tenant_id, entity) VALUES (repeat('x', 51), 'y')")


# --- dbt's models: pushed down to the workers ----------------------------------------------------------
def test_no_dbt_model_is_planned_on_the_coordinator(citus: Deployed) -> None:
    """A model's SELECT (as dbt compiled it on the cluster) never runs on the coordinator as one task
    over distributed subplans, i.e. with every tenant's rows pulled out of the workers first."""
    compiled = (
        Path(citus.env["BI_DATA_DIR"]) / "dbt" / "bi" / "target" / "compiled" / "indigitall_bi" / "models"
    )
    models = sorted((ROOT / "dbt" / "models").rglob("*.sql"))
    checked, on_coordinator = 0, []
    for model in models:
        path = compiled / model.relative_to(ROOT / "dbt" / "models")
        assert path.exists(), path
        plan = [r[0] for r in q(citus.owner, "EXPLAIN " + path.read_text(encoding="utf-8"))]
        # the outermost Citus scan and its own task count (indented two more than its name)
        outer = next((line for line in plan if "Custom Scan (Citus" in line), "")
        col = outer.find("Custom Scan") + 2
        top = next((line for line in plan if line.startswith(" " * col + "Task Count:")), "")
        if any("Distributed Subplan" in line for line in plan) and top.strip() == "Task Count: 1":
            on_coordinator.append(model.stem)
        checked += 1
    assert checked >= 25 and not on_coordinator, on_coordinator
