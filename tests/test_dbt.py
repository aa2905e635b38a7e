"""The dbt project: build on simulator data, contract columns, tenant isolation (RLS), incremental
fct_messages, docs generation, and lib.dbt_runner helpers. One `dbt build` per session."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fixtures_dbt import Built, insert_rows
from sqlalchemy import text

from lib.db import get_engine, tenant_tx
from lib.dbt_runner import DBT_PROJECT_DIR, build_command, cli_main, dbt_env, parse_run_results, run_dbt

ROOT = Path(__file__).resolve().parents[1]
QUERY_DIRS = (ROOT / "dash_app" / "queries", ROOT / "lib" / "analysis" / "sql")  # what the dashboards run
QUERY_PARAMS = {"tenant": "demo", "start": "2026-03-02", "end": "2026-03-15", "date_from": "2026-03-02",
                "date_to": "2026-03-15", "channel": "all", "tz": "America/Bogota", "row_limit": 10, "hour": 10,
                "weekday_num": 1}  # fmt: skip


@pytest.fixture(scope="module")
def marts(dbt_build: Built) -> dict[str, tuple[str, ...]]:
    """The marts contract: every mart's declared columns, from the build's dbt manifest."""
    from lib.marts import mart_columns

    contract = mart_columns()
    assert len(contract) >= 13 and all(contract.values()), contract
    return contract


def documented_marts() -> dict[str, set[str]]:
    """docs/contracts.md "dbt marts": each listed mart and the columns it names (remarks in
    parentheses, like `(incremental, unique key …)` or `(tenant-local)`, are not columns)."""
    import re

    doc = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = doc.split("## dbt marts", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for name, body in re.findall(r"^- `(\w+)`?(.*?)(?=^- `|^\S|\Z)", section, re.S | re.M):
        cols: set[str] = set()
        if body.startswith("("):  # `dim_date(date_day, weekday_num 1=Mon..7, …)`: the columns themselves
            cols |= {i.split()[0] for i in body[1:].split(")", 1)[0].split(",") if i.strip()}
        for group in re.findall(r"\(([^()]*)\)", body):
            items = [i.strip() for i in group.split(",")]
            if all(re.fullmatch(r"[a-z_]\w*", i) for i in items):
                cols |= set(items)
        rest = re.sub(r"\([^()]*\)", "", body)
        if ":" in rest:
            cols |= {i.strip().rstrip("`") for i in rest.split(":", 1)[1].split(",") if i.strip()}
        out[name] = {c for c in cols if re.fullmatch(r"[a-z_]\w*", c)}
    return out


def _relations(db_url: str) -> dict[str, str]:
    """analytics relation name -> kind ('r' table, 'v' view)."""
    with get_engine("owner", db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'analytics' AND c.relkind IN ('r', 'v', 'm', 'p')"
            )
        ).all()
    return {r[0]: r[1] for r in rows}


def test_build_passes_every_model_and_test(dbt_build: Built) -> None:
    r = dbt_build.result
    assert r.ok, r.errors
    m = r.metrics
    assert m["models"] >= 28 and m["models_failed"] == 0 and m["models_skipped"] == 0
    assert m["tests"] >= 150 and m["tests_failed"] == 0 and m["tests_passed"] == m["tests"]
    assert m["unit_tests"] >= 4 and m["unit_tests_passed"] == m["unit_tests"]
    assert r.rows_out > 20_000
    archived = json.loads((Path(dbt_build.run_dir) / "run_results.json").read_text())
    assert archived["results"]


def test_models_land_exactly_in_analytics(dbt_build: Built, marts: dict[str, tuple[str, ...]]) -> None:
    rels = _relations(dbt_build.db_url)
    for name in marts:
        assert rels.get(name) == "r", f"analytics.{name} should be a table"
    assert all(rels[n] == "v" for n in rels if n.startswith("stg_"))
    with get_engine("owner", dbt_build.db_url).connect() as conn:
        stray = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'analytics_%'")).all()
    assert stray == []


def test_marts_have_the_contract_columns(dbt_build: Built, marts: dict[str, tuple[str, ...]]) -> None:
    """Each built mart has exactly the columns dbt's manifest declares (the one source), and those
    include every column docs/contracts.md publishes."""
    insp = sa.inspect(get_engine("owner", dbt_build.db_url))
    for table, declared in marts.items():
        have = [c["name"] for c in insp.get_columns(table, schema="analytics")]
        assert sorted(have) == sorted(declared), f"analytics.{table}: built {have}, declared {declared}"
        assert "tenant_id" in have
    documented = documented_marts()
    assert set(documented) <= set(marts) and len(documented) >= 11, documented
    for table, cols in documented.items():
        assert cols and not cols - set(marts[table]), (
            f"{table}: documented, not declared: {cols - set(marts[table])}"
        )


def test_synthetic_ddl_has_the_marts_columns(server_url: str, marts: dict[str, tuple[str, ...]]) -> None:
    """dash_app/synthetic/ddl.sql (the dashboards' synthetic marts) creates marts with dbt's columns."""
    from dash_app.synthetic import TABLES, create_tables
    from lib.db.scratch import scratch_database

    with scratch_database("bi_test", server_url=server_url) as url:
        create_tables(get_engine("owner", url))
        insp = sa.inspect(get_engine("owner", url))
        for table in TABLES:
            have = [c["name"] for c in insp.get_columns(table, schema="analytics")]
            assert table in marts and sorted(have) == sorted(marts[table]), (
                f"{table}: {have} vs {marts.get(table)}"
            )


def test_dashboard_queries_run_on_the_built_marts(
    dbt_build: Built,
    marts: dict[str, tuple[str, ...]],
) -> None:
    """Every dashboard/KPI query that reads analytics.* plans against dbt's marts (a column or mart the
    models do not have fails here, not in a browser)."""
    import re

    checked = 0
    for path in sorted(p for d in QUERY_DIRS for p in d.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        used = set(re.findall(r"analytics\.(\w+)", sql))
        if not used:
            continue
        assert used <= set(marts), f"{path.name} reads {used - set(marts)}, not marts of the contract"
        with tenant_tx("demo", "app", dbt_build.db_url) as conn:
            conn.execute(text("EXPLAIN " + sql), QUERY_PARAMS)
        checked += 1
    assert checked >= 20


def test_every_analytics_table_is_rls_forced(dbt_build: Built) -> None:
    with get_engine("owner", dbt_build.db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "  EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'analytics' "
                "          AND p.tablename = c.relname AND p.policyname = 'tenant_isolation') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'analytics' AND c.relkind = 'r'"
            )
        ).all()
    assert rows
    bad = [r[0] for r in rows if not (r[1] and r[2] and r[3])]
    assert bad == []


def test_reader_without_tenant_sees_nothing_in_analytics(dbt_build: Built) -> None:
    engine = get_engine("reader", dbt_build.db_url)
    for name in sorted(_relations(dbt_build.db_url)):
        with engine.connect() as conn:
            try:
                n = conn.execute(text(f'SELECT count(*) FROM analytics."{name}"')).scalar_one()  # noqa: S608
            except sa.exc.ProgrammingError as exc:  # permission denied: not granted to the reader
                assert "permission denied" in str(exc)
                continue
            assert n == 0, f"reader without a tenant sees {n} rows of analytics.{name}"


def test_reader_sees_only_its_tenant(dbt_build: Built, marts: dict[str, tuple[str, ...]]) -> None:
    counts: dict[str, dict[str, int]] = {name: {} for name in marts}
    for tenant in ("demo", "acme"):
        with tenant_tx(tenant, "reader", dbt_build.db_url) as conn:
            for name in marts:
                seen = conn.execute(text(f"SELECT DISTINCT tenant_id FROM analytics.{name}")).scalars().all()  # noqa: S608
                assert set(seen) <= {tenant}, f"{name}: {tenant} sees {seen}"
                counts[name][tenant] = conn.execute(
                    text(f"SELECT count(*) FROM analytics.{name}")  # noqa: S608
                ).scalar_one()
        # staging / intermediate relations are not granted to the reader at all
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with tenant_tx(tenant, "reader", dbt_build.db_url) as conn:
                conn.execute(text("SELECT 1 FROM analytics.int_conversations LIMIT 1"))
    with get_engine("owner", dbt_build.db_url).connect() as conn:
        for name in marts:
            total = conn.execute(
                text(f"SELECT count(*) FROM analytics.{name} WHERE tenant_id IN ('demo', 'acme')")  # noqa: S608
            ).scalar_one()
            assert counts[name]["demo"] + counts[name]["acme"] == total, name
            assert counts[name]["demo"] > 0 and counts[name]["acme"] > 0, name


def test_incremental_messages_and_rls_survive_a_rebuild(dbt_build: Built) -> None:
    """New rows of a new tenant reach fct_messages incrementally; rebuilt tables keep RLS and grants."""
    url = dbt_build.db_url
    owner = get_engine("owner", url)
    with owner.connect() as conn:
        before = dict(
            conn.execute(text("SELECT tenant_id, count(*) FROM analytics.fct_messages GROUP BY 1")).all()
        )
    t0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

    def msg(mid: str, minutes: int, session: str | None) -> tuple:
        ts = t0 + timedelta(minutes=minutes)
        return (
            "zeta",
            mid,
            ts,
            (ts - timedelta(hours=5)).date(),
            (ts.hour - 5) % 24,
            "Tuesday",
            "input",
            "Inbound",
            "text",
            None,
            "Z",
            "c9",
            session,
            None,
            None,
            None,
            None,
            "hola",
            False,
            False,
            None,
            None,
            "cloudapi",
            "df",
        )

    insert_rows(
        url,
        {
            "tenants": [("zeta", "Zeta", "America/Bogota")],
            "messages": [
                msg("1", 0, None),
                msg("2", 10, None),
                msg("3", 50, "s1"),
                msg("4", 120, "s1"),
                msg("5", 200, None),
            ],
        },
    )
    res = run_dbt("run", select=["int_messages__sessionized", "fct_messages", "mart_push_daily"])
    assert res.ok, res.errors
    with owner.connect() as conn:
        after = dict(
            conn.execute(text("SELECT tenant_id, count(*) FROM analytics.fct_messages GROUP BY 1")).all()
        )
        keys = conn.execute(
            text(
                "SELECT message_id, conversation_key FROM analytics.fct_messages WHERE tenant_id = 'zeta' ORDER BY 1"
            )
        ).all()
        forced = conn.execute(
            text(
                "SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE oid IN "
                "('analytics.fct_messages'::regclass, 'analytics.mart_push_daily'::regclass, "
                " 'analytics.int_messages__sessionized'::regclass)"
            )
        ).scalar_one()
    assert after == {**before, "zeta": 5}
    assert keys == [("1", "c9:1"), ("2", "c9:1"), ("3", "c9:3"), ("4", "c9:3"), ("5", "c9:5")]
    assert forced
    with tenant_tx("zeta", "reader", url) as conn:
        assert conn.execute(text("SELECT count(*) FROM analytics.fct_messages")).scalar_one() == 5
        assert conn.execute(text("SELECT count(*) FROM analytics.mart_push_daily")).scalar_one() == 0
    with tenant_tx("demo", "reader", url) as conn:
        assert conn.execute(text("SELECT count(*) FROM analytics.mart_push_daily")).scalar_one() > 0
    with get_engine("reader", url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM analytics.fct_messages")).scalar_one() == 0


def test_docs_generate(dbt_build: Built, tmp_path: Path) -> None:
    res = run_dbt("docs generate", run_dir=tmp_path)
    assert res.ok, res.errors
    from lib.dbt_runner import dbt_work_dir

    catalog = json.loads((dbt_work_dir() / "target" / "catalog.json").read_text())
    assert "model.indigitall_bi.mart_daily_kpis" in catalog["nodes"]
    assert (tmp_path / "dbt_output.log").exists()


def test_cli_lists_models(dbt_build: Built, capfd: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(argparse.Namespace(dbt_args=["ls", "--resource-type", "model", "--output", "name"]))
    out = capfd.readouterr().out
    assert rc == 0
    assert "fct_messages" in out and "mart_push_heatmap" in out


def test_a_prestarted_dbt_runs_the_command_it_is_given(dbt_build: Built, tmp_path: Path) -> None:
    """lib.dbt_warm: the process imports dbt, then runs the argv it is sent as dbt would (its output
    and exit status); one that exited meanwhile is replaced by a dbt started as usual; an unused one
    ends on close without running anything."""
    from lib.dbt_warm import WarmDbt

    ls = ["--resource-type", "model", "--output", "name", "--select", "mart_push_heatmap"]
    warm = WarmDbt.start()
    assert warm is not None
    res = run_dbt("ls", run_dir=tmp_path / "warm", extra_args=ls, warm=warm)
    assert res.ok and res.metrics["prestarted"] is True and warm.proc.returncode == 0, res.errors
    names = (tmp_path / "warm" / "dbt_output.log").read_text().split()
    assert "mart_push_heatmap" in names and "fct_messages" not in names  # its selection, not another

    gone = WarmDbt.start()
    assert gone is not None
    gone.proc.kill()
    gone.proc.wait()
    res = run_dbt("ls", run_dir=tmp_path / "cold", extra_args=ls, warm=gone)
    assert res.ok and res.metrics["prestarted"] is False, res.errors
    assert "mart_push_heatmap" in (tmp_path / "cold" / "dbt_output.log").read_text().split()

    unused = WarmDbt.start()
    assert unused is not None
    unused.close()
    assert unused.proc.returncode == 0


# -- helpers without a database ---------------------------------------------------------------------
def test_dbt_env_from_socket_and_tcp_urls() -> None:
    env = dbt_env("postgresql+psycopg2://postgres@/bi_x?host=%2Ftmp%2Fpg", base={})
    assert env["BI_DB_HOST"] == "/tmp/pg" and env["BI_DB_PORT"] == "5432"
    assert env["BI_DB_NAME"] == "bi_x" and env["BI_DB_USER"] == "postgres" and env["BI_DB_PASSWORD"] == ""
    env = dbt_env(
        "postgres://u:p%40ss@db.example:6543/bi?sslmode=require",
        base={"PATH": "/bin", "INDIGITALL_SERVER_KEY": "k-4b1e9c2a", "PIPELINE_API_TOKEN": "t-77d1a0"},
    )
    assert (env["BI_DB_HOST"], env["BI_DB_PORT"], env["BI_DB_USER"]) == ("db.example", "6543", "u")
    assert env["BI_DB_PASSWORD"] == "p@ss" and env["BI_DB_SSLMODE"] == "require" and env["PATH"] == "/bin"
    assert "k-4b1e9c2a" not in env.values() and "t-77d1a0" not in env.values()  # dbt's allow-list


def test_build_command_uses_the_project_dirs() -> None:
    argv = build_command("build", select=["fct_messages+"], full_refresh=True, extra_args=["--fail-fast"])
    assert argv[:5] == [
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    assert argv[5:] == ["--select", "fct_messages+", "--full-refresh", "--fail-fast"]
    assert build_command("docs generate")[:2] == ["docs", "generate"]
    narrowed = build_command(
        "build", select=["source:indigitall.messages+"], exclude="resource_type:unit_test"
    )
    assert narrowed[5:] == ["--select", "source:indigitall.messages+", "--exclude", "resource_type:unit_test"]


def test_dbt_starts_without_the_slow_optional_import(tmp_path: Path) -> None:
    """The launcher is dbt's own CLI (exit code included) with rfc3987_syntax blocked (lib.pipeline._fastimport)."""
    import subprocess
    import sys

    from lib.dbt_runner import _dbt_executable

    argv = _dbt_executable()
    assert argv[0] == sys.executable
    probe = argv[2].replace(
        "sys.exit(cli())",
        "print(sorted(m for m, v in sys.modules.items() if v is not None and m.startswith(('rfc3987', 'sqlalchemy')))); sys.exit(cli())",
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(DBT_PROJECT_DIR.parent), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [argv[0], "-c", probe, "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )  # noqa: S603
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0] == "[]" and "Core:" in proc.stdout  # dbt ran; neither module loaded
    bad = subprocess.run(
        [*argv, "no-such-command"], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )  # noqa: S603
    assert bad.returncode != 0


def test_parse_run_results_counts_and_errors(tmp_path: Path) -> None:
    results = {
        "elapsed_time": 1.5,
        "metadata": {"invocation_id": "x"},
        "results": [
            {
                "unique_id": "model.p.a",
                "status": "success",
                "adapter_response": {"rows_affected": 10},
                "message": "OK",
            },
            {"unique_id": "model.p.b", "status": "error", "adapter_response": {}, "message": "boom\nmore"},
            {"unique_id": "test.p.t1", "status": "pass", "message": None},
            {"unique_id": "test.p.t2", "status": "fail", "message": "Got 3 results"},
            {"unique_id": "test.p.t3", "status": "warn", "message": "Got 1 result"},
            {"unique_id": "unit_test.p.m.u1", "status": "pass", "message": None},
        ],
    }
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))
    parsed = parse_run_results(path)
    assert parsed["rows_out"] == 10
    m = parsed["metrics"]
    assert (m["models"], m["models_ok"], m["models_failed"]) == (2, 1, 1)
    assert (m["tests"], m["tests_passed"], m["tests_failed"], m["tests_warned"]) == (3, 1, 1, 1)
    assert (m["unit_tests"], m["unit_tests_passed"]) == (1, 1)
    assert parsed["errors"] == ["model b: error: boom", "test t2: fail: Got 3 results"]
    assert parsed["warnings"] == ["test t3: Got 1 result"]


def _tenant_indexes(url: str) -> dict[str, set[str]]:
    """analytics table -> the column lists of its btree indexes that lead with tenant_id."""
    with get_engine("owner", url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tablename, substring(indexdef from 'USING btree \\((.*)\\)') FROM pg_indexes "
                "WHERE schemaname = 'analytics'"
            )
        ).all()
    out: dict[str, set[str]] = {}
    for table, cols in rows:
        if cols and cols.startswith("tenant_id"):
            out.setdefault(table, set()).add(cols)
    return out


def test_every_mart_the_dashboards_read_has_a_tenant_index(
    dbt_build: Built, marts: dict[str, tuple[str, ...]]
) -> None:
    """With many tenants a dashboard query (one tenant, a date window) must not scan every tenant's
    rows: each mart with tenant_id has an index leading with it (and its date column where it has one),
    also fct_messages (incremental) after a full refresh, when the old table's index still exists."""
    have = _tenant_indexes(dbt_build.db_url)

    def wanted(cols: tuple[str, ...]) -> str:
        day = next((c for c in ("date", "start_date", "date_day") if c in cols), None)
        return f"tenant_id, {day}" if day else "tenant_id"

    expected = {m: wanted(cols) for m, cols in marts.items() if "tenant_id" in cols}
    missing = {
        m: want for m, want in expected.items() if not any(c.startswith(want) for c in have.get(m, ()))
    }
    assert missing == {}, have
    assert have["fct_messages"] >= {"tenant_id, date", "tenant_id, message_ts", "tenant_id, message_id"}
    # int_conversations joins each conversation's first session by key (the table, not a CTE copy)
    assert "tenant_id, session_id" in have["int_agent_sessions"], have
    res = run_dbt("run", select=["fct_messages"], full_refresh=True)
    assert res.ok, res.errors
    assert _tenant_indexes(dbt_build.db_url)["fct_messages"] == {
        "tenant_id, date",
        "tenant_id, message_ts",
        "tenant_id, message_id",
        "tenant_id, agent_session_id",  # mart_daily_kpis' agent sessions of a changed day
    }


def test_a_table_the_build_replaced_has_statistics_at_once(dbt_build: Built) -> None:
    """Tables a build replaced (`table` models) or created (an incremental model's first build) are
    ANALYZEd by the build (macro bi_analyze_rebuilt), not minutes later by autovacuum: the next models
    and the dashboards' first queries are planned for their real sizes."""
    tables = ("mart_service_daily", "int_agent_sessions", "int_conversations", "int_intents")
    with get_engine("owner", dbt_build.db_url).connect() as conn:
        rows = {
            name: (estimate, manual)
            for name, estimate, manual in conn.execute(
                text(
                    "SELECT c.relname, c.reltuples, s.analyze_count FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_stat_user_tables s ON s.relid = c.oid "
                    "WHERE n.nspname = 'analytics' AND c.relname = ANY(:t)"
                ),
                {"t": list(tables)},
            ).all()
        }
        counts = {t: conn.execute(text(f"SELECT count(*) FROM analytics.{t}")).scalar_one() for t in tables}  # noqa: S608
    assert set(rows) == set(tables), rows
    for table, (estimate, manual) in rows.items():  # -1 = never analyzed; ANALYZE sets the real row count
        # analyze_count counts ANALYZE commands only (autovacuum's are autoanalyze_count)
        assert manual >= 1 and counts[table] > 0 and estimate == counts[table], (table, estimate, manual)
