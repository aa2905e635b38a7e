"""Callback latency per dashboard page: p50 / p95 over N cold calls (query cache cleared each time).

    python benchmarks/bench_dash.py                       # the configured database (e.g. after `bi demo`)
    python benchmarks/bench_dash.py --make-x10            # also a ×10 copy of it, and measure both
    python benchmarks/bench_dash.py --database-url URL --tenant demo --iterations 30 --json out.json

Each page's main callback is POSTed to /_dash-update-component through the Flask test client with a
signed-in admin session (so JSON serialisation of figures and grids is included), over the last
90 days (range=90 ending today, tenant-local) or --days. Targets: p95 < 300 ms at 90 days, < 1 s ×10.
The ×10 copy multiplies the fact rows (new keys) and scales the mart counts by ten.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FACT_KEYS = {
    "fct_messages": ("message_id", "contact_id", "conversation_key"),
    "fct_agent_sessions": ("session_id", "contact_id", "conversation_key"),
    "fct_conversations": ("conversation_key", "contact_id"),
}
MARTS = (
    "mart_daily_kpis",
    "mart_volume_heatmap",
    "mart_intent_performance",
    "mart_agent_performance",
    "mart_push_daily",
    "mart_campaign_performance",
    "mart_service_daily",
)
NOT_SCALED = {"hour", "weekday_num", "league_rank", "seq"}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def make_x10(src_url: str) -> str:
    """A copy of the database (CREATE DATABASE … TEMPLATE) with ten times the fact rows."""
    import psycopg2
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from lib.db import dispose_engines, get_engine
    from lib.db.urls import to_dsn, with_database

    src_name = make_url(src_url).database
    dst_name = f"{src_name}_x10"
    dispose_engines()
    admin = psycopg2.connect(to_dsn(with_database(src_url, "postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{dst_name}" WITH (FORCE)')
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (src_name,),
        )
        cur.execute(f'CREATE DATABASE "{dst_name}" TEMPLATE "{src_name}"')
    admin.close()
    dst_url = with_database(src_url, dst_name)
    engine = get_engine("owner", dst_url)
    with engine.begin() as conn:
        for table, keys in FACT_KEYS.items():
            cols = (
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
                        "AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
                .scalars()
                .all()
            )
            select = ", ".join(f"m.{c} || '~' || k" if c in keys else f"m.{c}" for c in cols)
            conn.execute(
                text(
                    f"INSERT INTO analytics.{table} ({', '.join(cols)}) SELECT {select} "  # noqa: S608
                    f"FROM analytics.{table} m CROSS JOIN generate_series(1, 9) AS k"
                )
            )
        for table in MARTS:
            cols = (
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
                        "AND table_name = :t AND data_type IN ('integer', 'bigint', 'numeric', 'smallint')"
                    ),
                    {"t": table},
                )
                .scalars()
                .all()
            )
            scaled = [
                c
                for c in cols
                if c not in NOT_SCALED and not c.endswith("rate") and "ctr" not in c and c != "service_level"
            ]
            if scaled:
                sets = ", ".join(f"{c} = {c} * 10" for c in scaled)
                conn.execute(text(f"UPDATE analytics.{table} SET {sets}"))  # noqa: S608
        for table in (*FACT_KEYS, *MARTS):
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"analytics.{table}"}).scalar():
                conn.execute(text(f"ANALYZE analytics.{table}"))
    return dst_url


def make_synthetic(server_url: str, tenant: str, timezone: str, days: int, per_day: int) -> str:
    """A fresh migrated database with synthetic marts (dash_app.synthetic) ending today."""
    from datetime import date

    import psycopg2

    from dash_app import synthetic
    from lib.db import get_engine, migrate
    from lib.db.urls import to_dsn, with_database

    name = "bi_bench_synthetic"
    admin = psycopg2.connect(to_dsn(with_database(server_url, "postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = with_database(server_url, name)
    migrate(url)
    owner = get_engine("owner", url)
    synthetic.create_tables(owner)
    synthetic.seed_tenant(
        owner, tenant, date.today() - timedelta(days=days - 1), days, per_day, timezone=timezone
    )
    return url


def page_requests(tenant: str, start: str, end: str) -> dict[str, dict]:
    """The main callback of each page as the browser would POST it."""
    store = {"tenant": tenant, "preset": "custom", "start": start, "end": end, "channel": "all"}

    def req(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]]) -> dict:
        return {
            "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
            if len(outputs) > 1
            else f"{outputs[0][0]}.{outputs[0][1]}",
            "outputs": [{"id": i, "property": p} for i, p in outputs]
            if len(outputs) > 1
            else {"id": outputs[0][0], "property": outputs[0][1]},
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
            "state": [],
        }

    f = [("filters", "data", store)]
    return {
        "executive": req(
            [
                ("exec-kpis", "children"),
                ("exec-daily", "figure"),
                ("exec-donut", "figure"),
                ("exec-kpis-2", "children"),
                ("exec-league", "rowData"),
            ],
            f,
        ),
        "operations": req(
            [
                ("ops-kpis", "children"),
                ("ops-kpis-2", "children"),
                ("ops-heatmap", "figure"),
                ("ops-wait-buckets", "figure"),
                ("ops-hourly", "figure"),
                ("ops-weekday", "figure"),
                ("ops-intents", "figure"),
                ("ops-agents-grid", "rowData"),
            ],
            f,
        ),
        "operations-webchat": req(  # one channel: the agent table reads the facts, not the mart
            [
                ("ops-kpis", "children"),
                ("ops-kpis-2", "children"),
                ("ops-heatmap", "figure"),
                ("ops-wait-buckets", "figure"),
                ("ops-hourly", "figure"),
                ("ops-weekday", "figure"),
                ("ops-intents", "figure"),
                ("ops-agents-grid", "rowData"),
            ],
            [("filters", "data", {**store, "channel": "webchat"})],
        ),
        "operations-drill": {
            **req(
                [
                    ("ops-drill-title", "children"),
                    ("ops-drill-grid", "rowData"),
                    ("ops-drill-export-holder", "children"),
                    ("ops-drill-export-holder", "style"),
                ],
                [("ops-heatmap", "clickData", {"points": [{"x": 15, "y": "Martes", "customdata": [2, 15]}]})],
            ),
            "state": [{"id": "filters", "property": "data", "value": store}],
        },
        "bot": req(
            [
                ("bot-kpis", "children"),
                ("bot-rates", "figure"),
                ("bot-fallback-intents", "figure"),
                ("bot-pareto", "figure"),
            ],
            f,
        ),
        "campaigns": req(
            [
                ("push-kpis", "children"),
                ("push-sent", "figure"),
                ("push-ctr-daily", "figure"),
                ("push-platforms", "figure"),
                ("push-heatmap", "figure"),
                ("push-league", "rowData"),
                ("push-funnel-select", "options"),
            ],
            f,
        ),
        "runs": req(
            [("runs-grid", "rowData"), ("runs-refresh", "disabled")], [*f, ("runs-refresh", "n_intervals", 0)]
        ),
    }


def measure(url: str, tenant: str, days: int, iterations: int) -> dict[str, dict[str, float]]:
    os.environ["DATABASE_URL"] = url
    from lib.auth import add_user, remove_user
    from lib.config import reload_settings
    from lib.db import dispose_engines

    reload_settings()
    dispose_engines()
    from dash_app.app import create_app
    from dash_app.filters import tenant_today
    from dash_app.queries import cache_clear

    user, password = f"bench_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    add_user(user, password, "admin")
    try:
        app = create_app()
        client = app.server.test_client()
        # a real sign-in: sessions are server-side (a cookie alone is not signed in)
        form = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        signed = client.post(
            "/login", data={"username": user, "password": password, "csrf_token": csrf and csrf.group(1)}
        )
        if signed.status_code != 302:
            raise RuntimeError(f"sign-in failed: HTTP {signed.status_code}")
        end = tenant_today(tenant)
        start = end - timedelta(days=days - 1)
        out: dict[str, dict[str, float]] = {}
        for page, body in page_requests(tenant, start.isoformat(), end.isoformat()).items():
            times = []
            for i in range(iterations + 1):
                cache_clear()
                t0 = time.perf_counter()
                r = client.post("/_dash-update-component", json=body)
                elapsed = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    raise RuntimeError(f"{page}: HTTP {r.status_code} {r.get_data(as_text=True)[:300]}")
                if i:  # the first call warms imports and connections
                    times.append(elapsed)
            out[page] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(_pct(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
        return out
    finally:
        remove_user(user)


def volume(url: str, tenant: str) -> dict[str, int]:
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner", url).connect() as conn:
        return {
            t: conn.execute(
                text(f"SELECT count(*) FROM analytics.{t} WHERE tenant_id = :t"),  # noqa: S608
                {"t": tenant},
            ).scalar()
            for t in FACT_KEYS
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url")
    p.add_argument("--tenant")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--make-x10", action="store_true", help="also build and measure a ×10 copy")
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="measure a scratch database of synthetic marts (real volumes: 1,440 messages a weekday)",
    )
    p.add_argument("--per-day", type=int, default=1440, help="synthetic messages per weekday")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    from lib.config import get_settings, reload_settings
    from lib.db import get_database_url

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        reload_settings()
    url = get_database_url()
    tenant = args.tenant or get_settings().tenant_id
    if args.synthetic:
        from lib.config import get_tenant

        url = make_synthetic(url, tenant, get_tenant(tenant).timezone, args.days, args.per_day)
    targets = {"x1": 300.0, "x10": 1000.0}
    datasets = [("x1", url)]
    if args.make_x10:
        datasets.append(("x10", make_x10(url)))
    report: dict[str, dict] = {}
    for label, db in datasets:
        figures = measure(db, tenant, args.days, args.iterations)
        report[label] = {"rows": volume(db, tenant), "pages": figures}
        print(f"\n{label}: {report[label]['rows']}  (target p95 < {targets[label]:.0f} ms)")
        print(f"{'page':<18}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}  ok")
        for page, f in figures.items():
            ok = "yes" if f["p95_ms"] < targets[label] else "NO"
            print(f"{page:<18}{f['p50_ms']:>10}{f['p95_ms']:>10}{f['max_ms']:>10}  {ok}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.make_x10:  # the ×10 copy is large: never leave it behind
        from lib.db import normalise
        from lib.db.scratch import drop_database

        drop_database(normalise(datasets[1][1]).database, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
