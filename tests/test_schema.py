"""The schema contract: migrations, every table/column/type/key/index of the data model, RLS, append-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from lib.db import get_engine, migrate, tenant_tx

# The data model's columns (data_model.md), as information_schema names their types.
V = "character varying"
TZ = "timestamp with time zone"
PUBLIC_COLUMNS: dict[str, dict[str, tuple[str, int | None]]] = {
    "messages": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "message_id": (V, 100),
        "timestamp": (TZ, None),
        "date": ("date", None),
        "hour": ("smallint", None),
        "day_of_week": (V, 10),
        "send_type": (V, 30),
        "direction": (V, 20),
        "content_type": (V, 30),
        "status": (V, 20),
        "contact_name": (V, 255),
        "contact_id": (V, 100),
        "conversation_id": (V, 100),
        "agent_id": (V, 100),
        "close_reason": (V, 100),
        "intent": (V, 200),
        "is_fallback": ("boolean", None),
        "message_body": ("text", None),
        "is_bot": ("boolean", None),
        "is_human": ("boolean", None),
        "wait_time_seconds": ("integer", None),
        "handle_time_seconds": ("integer", None),
    },
    "chat_conversations": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "session_id": (V, 100),
        "conversation_session_id": (V, 100),
        "contact_id": (V, 100),
        "agent_id": (V, 100),
        "agent_email": (V, 255),
        "channel": (V, 30),
        "queued_at": (TZ, None),
        "assigned_at": (TZ, None),
        "closed_at": (TZ, None),
        "initial_session_id": (V, 100),
        "wait_time_seconds": ("integer", None),
        "handle_time_seconds": ("integer", None),
    },
    "chat_channels": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "channel_id": (V, 100),
        "channel_type": (V, 30),
        "channel_name": (V, 255),
        "phone_number": (V, 50),
        "status": (V, 20),
        "config": ("jsonb", None),
    },
    "contacts": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "contact_id": (V, 100),
        "contact_name": (V, 255),
        "total_messages": ("integer", None),
        "first_contact": ("date", None),
        "last_contact": ("date", None),
        "total_conversations": ("integer", None),
    },
    "agents": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "agent_id": (V, 100),
        "total_messages": ("integer", None),
        "conversations_handled": ("integer", None),
        "avg_handle_time_seconds": ("integer", None),
    },
    "daily_stats": {
        "id": ("integer", None),
        "tenant_id": ("text", None),
        "date": ("date", None),
        "total_messages": ("integer", None),
        "unique_contacts": ("integer", None),
        "conversations": ("integer", None),
        "fallback_count": ("integer", None),
    },
    "toques_daily": {
        "tenant_id": ("text", None),
        "date": ("date", None),
        "canal": (V, 30),
        "proyecto_cuenta": (V, 100),
        "enviados": ("integer", None),
        "entregados": ("integer", None),
        "clicks": ("integer", None),
        "abiertos": ("integer", None),
        "ctr": ("numeric", None),
        "tasa_entrega": ("numeric", None),
        "open_rate": ("numeric", None),
    },
    "campaigns": {
        "tenant_id": ("text", None),
        "campana_id": (V, 100),
        "campana_nombre": (V, 255),
        "canal": (V, 30),
        "tipo_campana": (V, 50),
        "total_enviados": ("integer", None),
        "total_entregados": ("integer", None),
        "total_clicks": ("integer", None),
        "fecha_inicio": ("date", None),
        "fecha_fin": ("date", None),
        "ctr": ("numeric", None),
    },
    "toques_heatmap": {
        "tenant_id": ("text", None),
        "canal": (V, 30),
        "dia_semana": (V, 12),
        "hora": ("smallint", None),
        "ctr": ("numeric", None),
        "dia_orden": ("smallint", None),
    },
    "sync_state": {
        "tenant_id": ("text", None),
        "entity": (V, 50),
        "last_cursor": ("text", None),
        "last_sync_at": (TZ, None),
        "records_synced": ("integer", None),
        "status": (V, 20),
    },
    "tenants": {"id": ("text", None), "name": ("text", None), "timezone": ("text", None)},
}
NUMERIC_6_2 = {
    ("toques_daily", "ctr"),
    ("toques_daily", "tasa_entrega"),
    ("toques_daily", "open_rate"),
    ("campaigns", "ctr"),
    ("toques_heatmap", "ctr"),
}
UNIQUE_KEYS = {
    "messages": ["tenant_id", "message_id"],
    "chat_conversations": ["tenant_id", "session_id"],
    "chat_channels": ["tenant_id", "channel_id"],
    "contacts": ["tenant_id", "contact_id"],
    "agents": ["tenant_id", "agent_id"],
    "daily_stats": ["tenant_id", "date"],
    "toques_daily": ["tenant_id", "date", "canal", "proyecto_cuenta"],
    "campaigns": ["tenant_id", "campana_id"],
    "toques_heatmap": ["tenant_id", "canal", "dia_semana", "hora"],
    "sync_state": ["tenant_id", "entity"],
}
INDEXES = {  # the data model's "Indices": leading columns of an index
    "messages": [
        ["tenant_id", "date"],
        ["tenant_id", "direction"],
        ["tenant_id", "contact_id"],
        ["tenant_id", "conversation_id"],
    ],
    "chat_conversations": [
        ["tenant_id", "closed_at"],
        ["tenant_id", "agent_id"],
        ["tenant_id", "contact_id"],
    ],
}
RAW_TABLES = [
    "raw_contacts_api",
    "raw_push_stats",
    "raw_chat_stats",
    "raw_campaigns_api",
    "raw_applications",
    "raw_sms_stats",
    "raw_email_stats",
    "raw_inapp_stats",
]
RAW_COLUMNS = {
    "id": ("integer", None),
    "application_id": (V, 100),
    "tenant_id": (V, 50),
    "endpoint": (V, 200),
    "loaded_at": (TZ, None),
    "date_from": ("date", None),
    "date_to": ("date", None),
    "source_data": ("jsonb", None),
}
LOG_COLUMNS = {
    "run_id",
    "tenant_id",
    "application_id",
    "endpoint",
    "request_params",
    "http_status",
    "attempt",
    "duration_ms",
    "bytes",
    "records",
    "error",
    "started_at",
}


def _columns(conn, schema: str, table: str) -> dict[str, tuple[str, int | None, int | None, int | None, str]]:
    rows = conn.execute(
        text(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
            "is_nullable FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"
        ),
        {"s": schema, "t": table},
    ).all()
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def test_migrations_apply_on_empty_db_and_again_without_change(fresh_db_url: str) -> None:
    applied = migrate(fresh_db_url)
    assert applied[:5] == [
        "001_schemas_roles",
        "002_raw",
        "003_public",
        "004_ops_ledger",
        "005_rls_helper_by_oid",
    ]
    engine = get_engine("owner", fresh_db_url)

    def snapshot() -> list[tuple]:
        with engine.connect() as c:
            return (
                c.execute(
                    text(
                        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema IN ('raw','public','ops') ORDER BY 1,2,3"
                    )
                ).all()
                + c.execute(
                    text(
                        "SELECT schemaname, tablename, indexname FROM pg_indexes "
                        "WHERE schemaname IN ('raw','public','ops') ORDER BY 1,2,3"
                    )
                ).all()
                + c.execute(
                    text("SELECT schemaname, tablename, policyname FROM pg_policies ORDER BY 1,2,3")
                ).all()
            )

    before = snapshot()
    assert migrate(fresh_db_url) == []
    assert snapshot() == before
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM ops.schema_migrations")).scalar() == len(applied)


@pytest.mark.parametrize("table", sorted(PUBLIC_COLUMNS))
def test_public_table_columns_and_types(db_url: str, table: str) -> None:
    with get_engine("owner", db_url).connect() as conn:
        cols = _columns(conn, "public", table)
    assert cols, f"public.{table} missing"
    for name, (dtype, length) in PUBLIC_COLUMNS[table].items():
        assert name in cols, f"public.{table}.{name} missing"
        assert cols[name][0] == dtype, f"public.{table}.{name} is {cols[name][0]}, expected {dtype}"
        if length is not None:
            assert cols[name][1] == length, f"public.{table}.{name} length {cols[name][1]} != {length}"
        if (table, name) in NUMERIC_6_2:
            assert cols[name][2:4] == (6, 2)


@pytest.mark.parametrize("table", sorted(UNIQUE_KEYS))
def test_unique_keys(db_url: str, table: str) -> None:
    with get_engine("owner", db_url).connect() as conn:
        keys = (
            conn.execute(
                text(
                    "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c "
                    "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
                    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
                    "WHERE c.conrelid = ('public.' || :t)::regclass AND c.contype = 'u' GROUP BY c.oid"
                ),
                {"t": table},
            )
            .scalars()
            .all()
        )
    assert UNIQUE_KEYS[table] in [list(k) for k in keys]


@pytest.mark.parametrize("table", sorted(INDEXES))
def test_indexes(db_url: str, table: str) -> None:
    with get_engine("owner", db_url).connect() as conn:
        defs = (
            conn.execute(
                text(
                    "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
                    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                    "WHERE i.indrelid = ('public.' || :t)::regclass GROUP BY i.indexrelid"
                ),
                {"t": table},
            )
            .scalars()
            .all()
        )
    for wanted in INDEXES[table]:
        assert any(list(d)[: len(wanted)] == wanted for d in defs), f"no index on public.{table}{wanted}"


def test_raw_tables_and_extraction_log(db_url: str) -> None:
    with get_engine("owner", db_url).connect() as conn:
        for table in RAW_TABLES:
            cols = _columns(conn, "raw", table)
            for name, (dtype, length) in RAW_COLUMNS.items():
                assert cols[name][0] == dtype and (length is None or cols[name][1] == length), (table, name)
            assert cols["source_data"][4] == "NO", f"raw.{table}.source_data must be NOT NULL"
        assert LOG_COLUMNS <= set(_columns(conn, "raw", "extraction_log"))
        assert {"pipeline_runs", "pipeline_steps"} <= set(
            conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops'")
            ).scalars()
        )


def test_rls_enabled_and_forced_on_every_tenant_table(db_url: str) -> None:
    with get_engine("owner", db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE c.relkind = 'r' AND n.nspname IN ('public','raw','ops') AND a.attname = 'tenant_id'"
            )
        ).all()
        roles = conn.execute(
            text(
                "SELECT rolname, rolbypassrls, rolsuper FROM pg_roles WHERE rolname IN ('bi_loader','bi_reader')"
            )
        ).all()
    assert len(rows) >= 10 + 9 + 2
    for schema, table, enabled, forced in rows:
        assert enabled and forced, f"{schema}.{table} lacks enabled+forced RLS"
    assert sorted(roles) == [("bi_loader", False, False), ("bi_reader", False, False)]


def _seed(tenant: str, contact: str) -> None:
    with tenant_tx(tenant, "loader") as conn:
        conn.execute(
            text(
                "INSERT INTO public.contacts (tenant_id, contact_id, contact_name) VALUES (:t, :c, 'x') "
                "ON CONFLICT DO NOTHING"
            ),
            {"t": tenant, "c": contact},
        )


def test_rls_reader_sees_only_its_tenant(db_url: str) -> None:
    _seed("rls_a", "57300000001")
    _seed("rls_b", "57300000002")
    with tenant_tx("rls_a", "reader") as conn:
        seen = conn.execute(
            text("SELECT tenant_id, contact_id FROM public.contacts WHERE tenant_id LIKE 'rls_%'")
        ).all()
    assert seen == [("rls_a", "57300000001")]
    with tenant_tx("rls_b", "reader") as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM public.contacts WHERE contact_id = '57300000001'")
            ).scalar()
            == 0
        )
    with get_engine("reader", db_url).connect() as conn:  # no tenant set: nothing at all
        assert conn.execute(text("SELECT count(*) FROM public.contacts")).scalar() == 0
        who = conn.execute(
            text(
                "SELECT session_user = current_user, pg_has_role(current_user, 'bi_app', 'MEMBER'), "
                "rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        assert tuple(who) == (True, True, False, False)  # its own login, not the owner's plus SET ROLE


def test_reader_cannot_write(db_url: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with tenant_tx("rls_a", "reader") as conn:
            conn.execute(text("INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('rls_a', 'r1')"))


def test_loader_cannot_write_another_tenants_row(db_url: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        with tenant_tx("rls_a", "loader") as conn:
            conn.execute(
                text("INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('rls_b', 'sneaky')")
            )
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        with get_engine("loader", db_url).begin() as conn:  # no tenant: cannot write at all
            conn.execute(text("INSERT INTO public.contacts (tenant_id, contact_id) VALUES ('rls_a', 'x2')"))
    _seed("rls_b", "57300000009")
    with tenant_tx("rls_a", "loader") as conn:  # B's rows are invisible, so neither updated nor deleted
        assert (
            conn.execute(
                text("UPDATE public.contacts SET contact_name = 'hacked' WHERE tenant_id = 'rls_b'")
            ).rowcount
            == 0
        )
        assert conn.execute(text("DELETE FROM public.contacts WHERE tenant_id = 'rls_b'")).rowcount == 0


@pytest.mark.parametrize("role", ["owner", "loader"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE raw.raw_chat_stats SET endpoint = 'x'",
        "DELETE FROM raw.raw_chat_stats",
        "TRUNCATE raw.raw_chat_stats",
        "DELETE FROM raw.extraction_log",
    ],
)
def test_raw_is_append_only(db_url: str, role: str, statement: str) -> None:
    with tenant_tx("ao", "loader") as conn:
        conn.execute(
            text(
                "INSERT INTO raw.raw_chat_stats (tenant_id, endpoint, source_data) "
                "VALUES ('ao', '/v1/chat/channel', '{\"data\": []}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO raw.extraction_log (tenant_id, endpoint, http_status) "
                "VALUES ('ao', '/v1/chat/channel', 200)"
            )
        )
    with pytest.raises(sa.exc.DBAPIError, match="append-only|permission denied"):
        with tenant_tx("ao", role) as conn:
            conn.execute(text(statement))
    with tenant_tx("ao", "loader") as conn:
        assert conn.execute(text("SELECT count(*) FROM raw.raw_chat_stats")).scalar() >= 1


def test_owner_append_only_is_the_trigger_not_a_grant(db_url: str) -> None:
    """The owner holds every privilege; the trigger alone must stop it (message says why)."""
    with tenant_tx("ao2", "loader") as conn:
        conn.execute(
            text(
                "INSERT INTO raw.raw_push_stats (tenant_id, endpoint, source_data) "
                "VALUES ('ao2', '/v1/campaign', '{}')"
            )
        )
    with pytest.raises(sa.exc.DBAPIError, match="raw.raw_push_stats is append-only: UPDATE"):
        with tenant_tx("ao2", "owner") as conn:
            conn.execute(
                text("UPDATE raw.raw_push_stats SET source_data = CAST(:v AS jsonb)"), {"v": '{"x": 1}'}
            )


def test_service_level_threshold_is_per_tenant(db_url: str) -> None:
    from lib.config import ConfigError, TenantConfig
    from lib.db import ensure_tenant

    ensure_tenant(TenantConfig(id="sl_a", name="A", extra={"service_level_seconds": 30}))
    ensure_tenant(TenantConfig(id="sl_b", name="B"))
    with pytest.raises(ConfigError, match="service_level_seconds"):
        ensure_tenant(TenantConfig(id="sl_c", name="C", extra={"service_level_seconds": "soon"}))
    for tenant, expected in (("sl_a", 30), ("sl_b", 60)):
        with tenant_tx(tenant, "reader") as conn:
            assert conn.execute(text("SELECT service_level_seconds FROM public.tenants")).scalar() == expected


def test_sync_state_entities_migration_folds_old_names(fresh_db_url: str) -> None:
    """Rows under the earlier per-endpoint names: device stats become push_stats, the rest go."""
    from lib.db.migrate import MIGRATIONS_DIR

    migrate(fresh_db_url)
    engine = get_engine("owner", fresh_db_url)
    old = ["device_stats", "chat_config", "chat_topics", "sms_sends", "messages"]
    with engine.begin() as conn:
        for tenant in ("a", "b"):
            for entity in old:
                conn.execute(
                    text("INSERT INTO public.sync_state (tenant_id, entity, last_cursor, status) "
                         "VALUES (:t, :e, '2026-03-01', 'success')"),
                    {"t": tenant, "e": entity},
                )  # fmt: skip
        conn.execute(text("INSERT INTO public.sync_state (tenant_id, entity, last_cursor, status) "
                          "VALUES ('b', 'push_stats', '2026-03-05', 'success')"))  # fmt: skip
        conn.execute(text((MIGRATIONS_DIR / "008_sync_state_entities.sql").read_text()))
        rows = conn.execute(
            text("SELECT tenant_id, entity, last_cursor FROM public.sync_state ORDER BY 1, 2")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("a", "messages", "2026-03-01"), ("a", "push_stats", "2026-03-01"),
        ("b", "messages", "2026-03-01"), ("b", "push_stats", "2026-03-05"),  # the newer row wins
    ]  # fmt: skip
