"""The dbt project: build on simulator data, contract columns, tenant isolation (RLS), incremental
fct_messages, docs generation, and lib.dbt_runner helpers. One `dbt build` per session."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from test_dbt_fixtures import Built, dbt_build, insert_rows  # noqa: F401 - fixture

from lib.db import get_engine, tenant_tx
from lib.dbt_runner import DBT_PROJECT_DIR, build_command, cli_main, dbt_env, parse_run_results, run_dbt

# docs/contracts.md "dbt marts": the columns the dashboards code against.
CONTRACT: dict[str, str] = {
    "dim_date": "date_day, year, month, iso_week, weekday_num, weekday_name_es, is_weekend",
    "fct_messages": "tenant_id, message_id, message_ts, date, hour, weekday_num, day_of_week, channel, "
    "direction, send_type, content_type, status, contact_id, contact_name, conversation_key, agent_session_id, "
    "agent_id, intent, is_fallback, is_bot, is_human, message_body",
    "fct_conversations": "tenant_id, conversation_key, contact_id, channel, started_at, start_date, ended_at, "
    "messages, inbound_messages, bot_messages, agent_messages, system_messages, outbound_messages, has_bot, "
    "has_human, is_escalated, is_contained, first_intent, had_fallback, agent_sessions, transfers, "
    "first_session_id, queued_at, assigned_at, wait_seconds, first_human_response_seconds, handle_seconds, "
    "resolution_seconds",
    "fct_agent_sessions": "tenant_id, session_id, conversation_session_id, initial_session_id, contact_id, "
    "agent_id, agent_email, channel, queued_at, assigned_at, closed_at, date, wait_seconds, handle_seconds, "
    "first_response_seconds, close_reason, is_transfer, is_assigned, is_abandoned, is_abandoned_within_5s, "
    "is_anomaly",
    "mart_daily_kpis": "tenant_id, date, channel, messages, inbound_messages, bot_messages, agent_messages, "
    "system_messages, outbound_messages, unique_contacts, conversations, agent_conversations, fallback_count, "
    "bot_answered_inbound, bot_conversations, contained_conversations, escalated_conversations, sent_outbound, "
    "delivered_outbound, read_outbound",
    "mart_agent_performance": "tenant_id, date, agent_id, agent_email, messages, sessions, contacts, "
    "wait_seconds_sum, handle_seconds_sum, transfers",
    "mart_intent_performance": "tenant_id, date, channel, intent, occurrences, fallbacks, escalated",
    "mart_volume_heatmap": "tenant_id, date, channel, weekday_num, hour, inbound_messages, messages",
    "mart_push_daily": "tenant_id, date, platform, application_id, sent, delivered, opened, clicks, "
    "delivery_rate, ctr, ctr_delivered, open_rate",
    "mart_campaign_performance": "tenant_id, campaign_id, campaign_name, channel, status, start_date, end_date, "
    "sent, delivered, opened, clicks, delivery_rate, ctr, ctr_delivered, open_rate, in_league, league_rank",
    "mart_push_heatmap": "tenant_id, canal, weekday, weekday_num, hour, ctr",
}
ADDED_MARTS = ("mart_service_daily",)


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


def test_build_passes_every_model_and_test(dbt_build: Built) -> None:  # noqa: F811
    r = dbt_build.result
    assert r.ok, r.errors
    m = r.metrics
    assert m["models"] >= 28 and m["models_failed"] == 0 and m["models_skipped"] == 0
    assert m["tests"] >= 150 and m["tests_failed"] == 0 and m["tests_passed"] == m["tests"]
    assert m["unit_tests"] >= 4 and m["unit_tests_passed"] == m["unit_tests"]
    assert r.rows_out > 20_000
    archived = json.loads((Path(dbt_build.run_dir) / "run_results.json").read_text())
    assert archived["results"]


def test_models_land_exactly_in_analytics(dbt_build: Built) -> None:  # noqa: F811
    rels = _relations(dbt_build.db_url)
    for name in (*CONTRACT, *ADDED_MARTS):
        assert rels.get(name) == "r", f"analytics.{name} should be a table"
    assert all(rels[n] == "v" for n in rels if n.startswith("stg_"))
    with get_engine("owner", dbt_build.db_url).connect() as conn:
        stray = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'analytics_%'")).all()
    assert stray == []


def test_marts_have_the_contract_columns(dbt_build: Built) -> None:  # noqa: F811
    insp = sa.inspect(get_engine("owner", dbt_build.db_url))
    for table, cols in CONTRACT.items():
        have = {c["name"] for c in insp.get_columns(table, schema="analytics")}
        missing = [c.strip() for c in cols.split(",") if c.strip() not in have]
        assert not missing, f"analytics.{table} lacks {missing}"
        assert "tenant_id" in have


def test_every_analytics_table_is_rls_forced(dbt_build: Built) -> None:  # noqa: F811
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


def test_reader_without_tenant_sees_nothing_in_analytics(dbt_build: Built) -> None:  # noqa: F811
    engine = get_engine("reader", dbt_build.db_url)
    for name in sorted(_relations(dbt_build.db_url)):
        with engine.connect() as conn:
            try:
                n = conn.execute(text(f'SELECT count(*) FROM analytics."{name}"')).scalar_one()  # noqa: S608
            except sa.exc.ProgrammingError as exc:  # permission denied: not granted to the reader
                assert "permission denied" in str(exc)
                continue
            assert n == 0, f"reader without a tenant sees {n} rows of analytics.{name}"


def test_reader_sees_only_its_tenant(dbt_build: Built) -> None:  # noqa: F811
    marts = [*CONTRACT, *ADDED_MARTS]
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


def test_incremental_messages_and_rls_survive_a_rebuild(dbt_build: Built) -> None:  # noqa: F811
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


def test_docs_generate(dbt_build: Built, tmp_path: Path) -> None:  # noqa: F811
    res = run_dbt("docs generate", run_dir=tmp_path)
    assert res.ok, res.errors
    from lib.dbt_runner import dbt_work_dir

    catalog = json.loads((dbt_work_dir() / "target" / "catalog.json").read_text())
    assert "model.indigitall_bi.mart_daily_kpis" in catalog["nodes"]
    assert (tmp_path / "dbt_output.log").exists()


def test_cli_lists_models(dbt_build: Built, capfd: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    rc = cli_main(argparse.Namespace(dbt_args=["ls", "--resource-type", "model", "--output", "name"]))
    out = capfd.readouterr().out
    assert rc == 0
    assert "fct_messages" in out and "mart_push_heatmap" in out


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
