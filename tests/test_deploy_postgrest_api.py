"""Migration 040: the PostgREST `api` schema — security_invoker views, web_anon sees no tenant rows
without a tenant, exactly one tenant's rows with it (real PostgreSQL, marts built by dbt).

`postgrest_request` replays what PostgREST runs per request; tests/test_stack.py uses it too, as the
`authenticator` login on PostgreSQL 15 with Supabase's roles (anon, authenticated, service_role)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Connection, text

API_VIEWS = {
    "mart_daily_kpis", "mart_agent_performance", "mart_intent_performance", "mart_volume_heatmap",
    "mart_push_daily", "mart_campaign_performance", "mart_push_heatmap",
}  # fmt: skip


def postgrest_request(conn: Connection, role: str, claims: dict[str, Any] | None, sql: str) -> list[Any]:
    """One PostgREST request, as PostgREST runs it: in one transaction, `SET LOCAL ROLE` to the JWT's
    role, the claims in `request.jwt.claims`, the pre-request hook (PGRST_DB_PRE_REQUEST), the query.
    `conn` is the connection PostgREST holds (the `authenticator` login, or any member of `role`)."""
    with conn.begin():
        conn.execute(text("SELECT set_config('role', :r, true)"), {"r": role})  # = SET LOCAL ROLE
        conn.execute(
            text("SELECT set_config('request.jwt.claims', :c, true)"),
            {"c": json.dumps({"role": role, **(claims or {})})},
        )
        conn.execute(text("SELECT api_private.pre_request()"))
        return conn.execute(text(sql)).all()


@pytest.fixture
def anon(dbt_build):
    """A connection switched to web_anon (rolled back afterwards)."""
    from lib.db import get_engine

    assert dbt_build.result.ok, dbt_build.result.errors
    with get_engine("owner").connect() as conn:
        tx = conn.begin()
        conn.execute(text("SET LOCAL ROLE web_anon"))
        yield conn
        tx.rollback()


def test_api_schema_holds_only_security_invoker_views(dbt_build) -> None:
    from lib.db import get_engine

    with get_engine("owner").connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relkind, coalesce(array_to_string(c.reloptions, ','), '') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'api'"
            )
        ).all()
        roles = dict(
            conn.execute(
                text(
                    "SELECT rolname, rolbypassrls OR rolsuper FROM pg_roles WHERE rolname IN ('web_anon', 'api_reader')"
                )
            ).all()
        )
    assert {r[0] for r in rows} == API_VIEWS
    assert all(kind == "v" and "security_invoker=true" in opts for _, kind, opts in rows)
    assert roles == {"web_anon": False, "api_reader": False}


def test_web_anon_sees_no_rows_without_a_tenant(anon) -> None:
    for view in sorted(API_VIEWS):
        assert anon.execute(text(f"SELECT count(*) FROM api.{view}")).scalar() == 0, view  # noqa: S608


def test_web_anon_sees_only_its_tenant(anon, dbt_build) -> None:
    from lib.db import get_engine

    with get_engine("owner").connect() as owner:
        expected = dict(
            owner.execute(
                text("SELECT tenant_id, count(*) FROM analytics.mart_daily_kpis GROUP BY tenant_id")
            ).all()
        )
    assert expected.get("demo") and expected.get("acme")
    anon.execute(text("SELECT set_config('app.tenant_id', 'demo', true)"))
    rows = anon.execute(text("SELECT tenant_id, count(*) FROM api.mart_daily_kpis GROUP BY tenant_id")).all()
    assert dict(rows) == {"demo": expected["demo"]}
    for view in sorted(API_VIEWS):  # every view's column contract matches its mart
        tenants = anon.execute(text(f"SELECT DISTINCT tenant_id FROM api.{view}")).scalars().all()  # noqa: S608
        assert set(tenants) <= {"demo"}, view


def test_tenant_comes_from_the_jwt_claim(dbt_build) -> None:
    from lib.db import get_engine

    sql = "SELECT DISTINCT tenant_id FROM api.mart_push_daily"
    with get_engine("owner").connect() as conn:
        assert {r[0] for r in postgrest_request(conn, "web_anon", {"tenant_id": "acme"}, sql)} == {"acme"}
        assert postgrest_request(conn, "web_anon", None, sql) == []
        assert conn.execute(
            text("SELECT current_user = session_user")
        ).scalar()  # the role ended with the request


@pytest.mark.parametrize("table", ["analytics.mart_daily_kpis", "analytics.fct_messages", "public.messages"])
def test_web_anon_cannot_read_tables_directly(dbt_build, table: str) -> None:
    from sqlalchemy.exc import ProgrammingError

    from lib.db import get_engine

    with get_engine("owner").connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE web_anon"))
        with pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))  # noqa: S608


def test_migration_040_is_rerunnable(dbt_build) -> None:
    from lib.db import get_engine
    from lib.db.migrate import MIGRATIONS_DIR

    sql = (MIGRATIONS_DIR / "040_api_schema.sql").read_text()
    engine = get_engine("owner")
    with engine.connect() as conn:
        with conn.connection.dbapi_connection.cursor() as cur:
            cur.execute(sql)
        conn.commit()
        assert (
            conn.execute(text("SELECT count(*) FROM api.mart_push_heatmap")).scalar() == 0
        )  # owner: no tenant
