"""Citus scale-out (issue 18): three local nodes (coordinator + 2 workers) against one node, same data.

    .venv/bin/python benchmarks/bench_citus.py [--tenants 20] [--days 90] [--iterations 15] [--json out.json]

Both servers are the same PostgreSQL 15 build (scripts/citus/build.sh), migrated by `bi db migrate`
(Citus mode on the cluster). The simulator's tenants are extracted once into the single node and their
raw rows copied to the cluster (the very same rows). Then, on each: every transform and post-transform
tenant by tenant (wall time), `dbt build`, and the dashboards' page callbacks for one tenant
(bench_dash.py's requests: p50/p95 over N cold calls). On Citus it also records where each tenant's
work ran: the rows written per shard during that tenant's transforms (pg_stat_user_tables of every
worker), and the task count of every dashboard query (EXPLAIN).

One machine cannot show the speed-up (all three nodes share its two cores): the figures show the
overhead of the distributed path, and that a tenant's work stays on the one worker holding its shards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZONES = ("America/Bogota", "America/Lima", "America/Mexico_City", "America/Guayaquil")


def _bench_dash():
    spec = importlib.util.spec_from_file_location("bench_dash", ROOT / "benchmarks" / "bench_dash.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _use(env: dict[str, str]) -> None:
    """Point this process at a deployment (settings, engines)."""
    from lib.config import reload_settings
    from lib.db import dispose_engines

    os.environ.update(env)
    reload_settings()
    dispose_engines()


def _copy_rows(src: str, dst: str) -> int:
    """Every row of raw.* and public.* from `src` to `dst` (same schema), ids and sequences included."""
    import psycopg2

    from lib.db.urls import to_dsn

    a, b = psycopg2.connect(to_dsn(src)), psycopg2.connect(to_dsn(dst))
    copied = 0
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname IN ('raw', 'public') AND c.relkind = 'r' ORDER BY 1"
            )
            for (table,) in ca.fetchall():
                ca.execute(
                    "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
                    (table,),
                )
                cols = ca.fetchone()[0]
                with tempfile.TemporaryFile() as buf:
                    ca.copy_expert(f"COPY (SELECT {cols} FROM {table}) TO STDOUT", buf)  # noqa: S608
                    buf.seek(0)
                    cb.copy_expert(f"COPY {table} ({cols}) FROM STDIN", buf)
                copied += cb.rowcount if cb.rowcount > 0 else 0
                cb.execute(
                    "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a "
                    "WHERE a.attrelid = %s::regclass AND pg_get_serial_sequence(%s, a.attname) IS NOT NULL",
                    (table, table, table),
                )
                for col, seq in cb.fetchall():
                    cb.execute(
                        f"SELECT setval(%s, coalesce((SELECT max({col}) FROM {table}), 0) + 1, false)",  # noqa: S608
                        (seq,),
                    )
            b.commit()
    finally:
        a.close()
        b.close()
    return copied


def _shard_writes(cluster) -> dict[int, int]:
    """Rows inserted + updated + deleted so far in every shard of every worker (shard id -> rows)."""
    import psycopg2

    from lib.db.citus_cluster import socket_dsn

    out: dict[int, int] = {}
    for node in cluster.workers:
        conn = psycopg2.connect(socket_dsn(node, cluster.database))
        try:
            with conn.cursor() as cur:
                # Citus hides shards from catalog queries on the workers, unless asked for them
                cur.execute("SET citus.show_shards_for_app_name_prefixes = '*'")
                cur.execute(
                    "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
                    "WHERE relname ~ '_[0-9]+$'"
                )
                for name, n in cur.fetchall():
                    out[int(name.rsplit("_", 1)[1])] = out.get(int(name.rsplit("_", 1)[1]), 0) + int(n)
        finally:
            conn.close()
    return out


def _tenant_shards(url: str, tenant: str) -> tuple[set[int], set[int], int]:
    """(the tenant's shards of every distributed table, reference shards, the port of its worker)."""
    import psycopg2

    from lib.db.urls import to_dsn

    conn = psycopg2.connect(to_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT get_shard_id_for_distribution_column(logicalrelid, %s) FROM pg_dist_partition "
                "WHERE partmethod = 'h'",
                (tenant,),
            )
            own = {r[0] for r in cur.fetchall()}
            cur.execute(
                "SELECT s.shardid FROM pg_dist_shard s JOIN pg_dist_partition p USING (logicalrelid) "
                "WHERE p.repmodel = 't'"
            )
            ref = {r[0] for r in cur.fetchall()}
            cur.execute(
                "SELECT DISTINCT n.nodeport FROM pg_dist_placement pl JOIN pg_dist_node n USING (groupid) "
                "WHERE pl.shardid = ANY(%s)",
                (list(own),),
            )
            ports = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    return own, ref, ports[0] if len(ports) == 1 else -1


def _analyze_public(owner: str) -> float:
    """ANALYZE public.* as the owner (on Citus it reaches every shard); returns the seconds it took."""
    import psycopg2

    from lib.db.urls import to_dsn

    conn = psycopg2.connect(to_dsn(owner))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename NOT LIKE 'citus%'"
            )
            tables = cur.fetchone()[0]
            t0 = time.perf_counter()
            cur.execute(f"ANALYZE {tables}")
            return time.perf_counter() - t0
    finally:
        conn.close()


def transforms(tenants: list[str], owner: str, cluster=None) -> dict:
    """Per tenant: every transform, ANALYZE public.*, every post-transform (all full refresh); on
    Citus, the rows each tenant wrote per shard.

    The ANALYZE (counted in the wall time) is what autovacuum does a minute later: without it the
    post-transforms of a tenant whose rows the statistics do not hold yet are planned for a handful of
    rows (measured: daily_stats_totals ran over 3 min for the third tenant; its query part took
    0.4 s once analyzed).
    """
    from lib.db import dispose_engines
    from lib.transform import POST_TRANSFORMS, TRANSFORMS, run_transform

    per: list[float] = []
    analyze_s = 0.0
    rows_out = 0
    locality = {"own": 0, "other": 0, "reference": 0, "workers": {}}
    for tenant in tenants:
        before = _shard_writes(cluster) if cluster else {}
        t0 = time.perf_counter()
        results = [run_transform(n, tenant_id=tenant, full_refresh=True) for n in TRANSFORMS]
        analyze_s += _analyze_public(owner)
        results += [run_transform(n, tenant_id=tenant, full_refresh=True) for n in POST_TRANSFORMS]
        per.append(time.perf_counter() - t0)
        failed = [f"{r.step}: {r.errors}" for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"transforms failed for {tenant}: {failed}")
        rows_out += sum(r.rows_out for r in results)
        print(f"  {tenant}: {per[-1]:.1f} s, {sum(r.rows_out for r in results)} rows", flush=True)
        dispose_engines()  # the sessions end: their worker backends flush their statistics
        if cluster:
            time.sleep(1.0)
            after = _shard_writes(cluster)
            own, ref, port = _tenant_shards(owner, tenant)
            for shard, n in after.items():
                delta = n - before.get(shard, 0)
                key = "own" if shard in own else "reference" if shard in ref else "other"
                locality[key] += delta
            locality["workers"][tenant] = port
    return {"total_s": sum(per), "median_s": statistics.median(per), "max_s": max(per), "rows_out": rows_out,
            "analyze_s": analyze_s, "locality": locality if cluster else None}  # fmt: skip


def dbt_build() -> float:
    from lib.dbt_runner import run_dbt

    t0 = time.perf_counter()
    result = run_dbt("build")
    if not result.ok:
        raise RuntimeError(f"dbt build failed: {result.errors[:3]}")
    return time.perf_counter() - t0


def explain_tasks(app_url: str, tenant: str, days: int) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Task counts of every dashboard query that reads distributed tables (EXPLAIN, app login), and
    each one's plan down to the worker's first node (what was routed where)."""
    import psycopg2

    from dash_app.queries.db import SQL_DIR, load_sql
    from lib.db.urls import to_dsn

    end = dt.date.today()
    params = {"tenant": tenant, "start": end - dt.timedelta(days=days - 1), "end": end, "channel": "all",
              "row_limit": 500, "hour": 10, "weekday_num": 2, "sl_default": 60, "run_id": "-", "step": "-"}  # fmt: skip
    conn = psycopg2.connect(to_dsn(app_url))
    out: dict[str, list[int]] = {}
    plans: dict[str, str] = {}
    try:
        for path in sorted(SQL_DIR.glob("*.sql")):
            sql = re.sub(r"(?<![:\w]):([a-z_]+)\b", r"%(\1)s", load_sql(path.stem).replace("%", "%%"))
            with conn.cursor() as cur:
                cur.execute("SET LOCAL app.tenant_id = %s", (tenant,))
                cur.execute("EXPLAIN " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
            conn.rollback()
            tasks = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
            if tasks:
                out[path.stem] = tasks
                head = plan.split("\n")
                cut = next((i for i, line in enumerate(head) if "->  " in line and i > 4), len(head))
                plans[path.stem] = "\n".join(head[: cut + 1])
    finally:
        conn.close()
    return out, plans


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--iterations", type=int, default=15, help="cold calls per dashboard page")
    ap.add_argument("--shard-count", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from lib.db.citus_cluster import citus_cluster, deploy, single_node
    from lib.simulator import SimTenant, start_in_thread

    scratch = Path(tempfile.mkdtemp(prefix="bi-bench-citus-"))
    tenants = [f"coop_{i:02d}" for i in range(1, args.tenants + 1)]
    keys = {t: f"sim-{t}-{secrets.token_hex(6)}" for t in tenants}
    apps = {t: str(300_000 + i) for i, t in enumerate(tenants)}
    (scratch / "tenants.yml").write_text(
        "tenants:\n" + "".join(
            f"  - id: {t}\n    name: {t}\n    application_ids: ['{apps[t]}']\n    timezone: {ZONES[i % len(ZONES)]}\n"
            f"    server_key_env: KEY_{t.upper()}\n" for i, t in enumerate(tenants)),
        encoding="utf-8",
    )  # fmt: skip
    sim = start_in_thread(
        port=0, server_key=None,
        tenants=[SimTenant(t, (apps[t],), ZONES[i % len(ZONES)], keys[t]) for i, t in enumerate(tenants)],
    )  # fmt: skip
    drop = ("INDIGITALL_SERVER_KEY", "INDIGITALL_APP_ID", "TENANT_TIMEZONE")
    base = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k not in drop}
    base.update(TENANTS_FILE=str(scratch / "tenants.yml"), INDIGITALL_BASE_URL=sim.url, TENANT_ID=tenants[0],
                RUNS_DIR=str(scratch / "runs"), HOME=str(scratch / "home"), JUPYTER_DATA_DIR=str(scratch / "jd"),
                **{f"KEY_{t.upper()}": keys[t] for t in tenants})  # fmt: skip
    date_to = dt.date.today() - dt.timedelta(days=1)
    date_from = date_to - dt.timedelta(days=args.days - 1)
    figures: dict = {"tenants": args.tenants, "days": args.days, "shard_count": args.shard_count,
                     "tenant": tenants[0]}  # fmt: skip
    try:
        with (
            single_node(prefix="bi-bc-1") as (node, owner1),
            citus_cluster(shard_count=args.shard_count, prefix="bi-bc") as cluster,
        ):
            single = deploy(
                "single", owner1, login_url=lambda u, p: node.url("bi", user=u, password=p), base_env=base
            )
            citus = deploy(
                "citus", cluster.url(), login_url=cluster.url, allow=cluster.allow_login, base_env=base
            )
            envs = {
                "single": {**base, **single.env, "BI_DATA_DIR": str(scratch / "single")},
                "citus": {**base, **citus.env, "BI_DATA_DIR": str(scratch / "citus")},
            }
            _use(envs["single"])
            from lib.extract import run_extractors

            t0 = time.perf_counter()
            for t in tenants:
                res = run_extractors(tenant_id=t, date_from=str(date_from), date_to=str(date_to))
                bad = [n for n, r in res.items() if not r.ok and n not in ("email", "inapp")]
                if bad:
                    raise RuntimeError(f"extract failed for {t}: {bad}")
            figures["extract_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            figures["copied_rows"] = _copy_rows(single.owner_url, citus.owner_url)
            figures["copy_s"] = time.perf_counter() - t0
            print(f"extracted {args.tenants} tenants x {args.days} days in {figures['extract_s']:.1f} s; "
                  f"{figures['copied_rows']} rows copied to the cluster in {figures['copy_s']:.1f} s", flush=True)  # fmt: skip

            dash = _bench_dash()
            for name, dep in (("single", single), ("citus", citus)):
                _use(envs[name])
                tr = transforms(tenants, dep.owner_url, cluster if name == "citus" else None)
                print(f"{name}: transforms {tr['total_s']:.1f} s", flush=True)
                build = dbt_build()
                print(f"{name}: dbt build {build:.1f} s", flush=True)
                pages = dash.measure(dep.owner_url, tenants[0], args.days, args.iterations)
                figures[name] = {"transforms": tr, "dbt_build_s": build, "dashboard": pages}
                if name == "citus":
                    tasks, plans = explain_tasks(dep.logins["app"], tenants[0], args.days)
                    figures["citus"]["explain_tasks"], figures["citus"]["explain_plans"] = tasks, plans
    finally:
        sim.stop()
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str), encoding="utf-8")
    return 0


def report(f: dict) -> None:
    s, c = f["single"], f["citus"]
    rows = [
        ("transforms, every tenant (s)", s["transforms"]["total_s"], c["transforms"]["total_s"]),
        ("  per tenant, median (s)", s["transforms"]["median_s"], c["transforms"]["median_s"]),
        ("  per tenant, max (s)", s["transforms"]["max_s"], c["transforms"]["max_s"]),
        ("  of which ANALYZE public.* (s)", s["transforms"]["analyze_s"], c["transforms"]["analyze_s"]),
        ("dbt build (s)", s["dbt_build_s"], c["dbt_build_s"]),
    ]
    for page in s["dashboard"]:
        rows.append(
            (f"dashboard {page} p95 (ms)", s["dashboard"][page]["p95_ms"], c["dashboard"][page]["p95_ms"])
        )
    print(f"\n{f['tenants']} tenants x {f['days']} days; Citus: coordinator + 2 workers, {f['shard_count']} shards "
          "per table, one machine (2 cores)")  # fmt: skip
    print(f"{'':34s} {'1 node':>10s} {'3 nodes':>10s} {'ratio':>7s}")
    for label, a, b in rows:
        print(f"{label:34s} {a:10.1f} {b:10.1f} {b / a if a else float('nan'):6.2f}x")
    loc = c["transforms"]["locality"]
    written = loc["own"] + loc["other"]
    print(f"\nrows written during each tenant's transforms: {loc['own']} on that tenant's own shards, "
          f"{loc['other']} on any other shard ({100.0 * loc['own'] / written if written else 0:.1f} % local), "
          f"{loc['reference']} on reference tables")  # fmt: skip
    by_port: dict[int, int] = {}
    for port in loc["workers"].values():
        by_port[port] = by_port.get(port, 0) + 1
    print(f"tenants per worker: {dict(sorted(by_port.items()))}")
    tasks = c["explain_tasks"]
    print(f"dashboard queries on distributed tables: {len(tasks)}; every one a single task: "
          f"{all(t == [1] * len(t) for t in tasks.values())}")  # fmt: skip
    for name, plan in sorted(c.get("explain_plans", {}).items())[:1]:
        print(f"\nEXPLAIN of {name} for {f['tenant']} (app login, SET LOCAL app.tenant_id):\n{plan}")


if __name__ == "__main__":
    raise SystemExit(main())
