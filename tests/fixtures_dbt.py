"""Shared fixtures of the dbt/KPI tests: simulator data loaded into public.*, one `dbt build` per session.

`load_public()` writes `lib.simulator.Dataset` rows into raw.* in the extractors' format and runs
lib.transform on them (the pipeline's transforms build public.*); the EDGE tenant is hand-made rows.
A pytest plugin of tests/conftest.py: request `dbt_build` in a test (no import needed); the build
itself is cached per database, so several modules still share one `dbt build`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lib.simulator import Dataset

DEMO = {
    "tenant_id": "demo",
    "seed": 42,
    "timezone": "America/Bogota",
    "application_id": "100274",
    "date_from": "2026-03-02",
    "date_to": "2026-03-15",
    "scale": 1.0,
}
ACME = {
    "tenant_id": "acme",
    "seed": 42,
    "timezone": "America/Mexico_City",
    "application_id": "200100",
    "date_from": "2026-03-09",
    "date_to": "2026-03-12",
    "scale": 0.2,
}
TENANTS = (DEMO, ACME)


def direction(send_type: str | None, integration: str | None) -> str:
    """The data model's direction rule (for the hand-made EDGE rows only)."""
    mapping = {"input": "Inbound", "operator": "Agent", "dialogflow": "Bot", "agent_notification": "System"}
    if send_type in mapping:
        return mapping[send_type]
    return "Bot" if integration == "df" else "Outbound"


@dataclass
class Loaded:
    """What load_public loaded for one tenant (the Dataset and its source rows, for expected values)."""

    tenant_id: str
    timezone: str
    ds: Dataset
    history: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    date_from: str
    date_to: str


# -- raw rows in the extractors' format (what lib.transform reads) ---------------------------------
def insert_raw(tenant: str, table: str, endpoint: str, source_data: Any, loaded_at: str | None = None,
               app: str | None = "100274") -> int:  # fmt: skip
    """One raw.<table> row (pipeline login: raw is append-only)."""
    import json

    from sqlalchemy import text

    from lib.db import tenant_tx

    with tenant_tx(tenant) as conn:
        return conn.execute(
            text(
                f"INSERT INTO raw.{table} (application_id, tenant_id, endpoint, loaded_at, source_data) "  # noqa: S608
                "VALUES (:app, :t, :ep, coalesce(CAST(:la AS timestamptz), now()), CAST(:sd AS jsonb)) RETURNING id"
            ),
            {"app": app, "t": tenant, "ep": endpoint, "la": loaded_at, "sd": json.dumps(source_data)},
        ).scalar_one()


def history_page(rows: list[dict[str, Any]], n: int = 0) -> dict[str, Any]:
    from lib.api.history_csv import HISTORY_COLUMNS

    return {"format": "csv", "header": list(HISTORY_COLUMNS), "rows": rows, "page": n, "limit": 1000}


def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {"statusCode": 200, "message": "OK", "data": data, **extra}


def load_raw(tenant: str, ds: Dataset, date_from: str, date_to: str, *, loaded_at: str | None = None,
             page_size: int = 1500, app: str | None = "100274") -> int:  # fmt: skip
    """The simulator's rows for a window as the extractors store them in raw.*; returns the history rows."""
    rows = ds.history_rows(date_from, date_to)
    for i in range(0, len(rows), page_size):
        insert_raw(tenant, "raw_chat_stats", "/v1/chat/history/csv", history_page(rows[i : i + page_size]),
                   loaded_at, app)  # fmt: skip
    sessions = ds.agent_sessions(date_from, date_to)
    insert_raw(tenant, "raw_chat_stats", "/v1/chat/agent/conversations", envelope(sessions), loaded_at, app)
    insert_raw(tenant, "raw_chat_stats", "/v1/chat/channel", envelope(ds.channels()), loaded_at, app)
    insert_raw(tenant, "raw_contacts_api", "/v1/chat/contacts", envelope(ds.contacts()), loaded_at, app)
    insert_raw(tenant, "raw_push_stats", "/v1/application/{id}/dateStats", envelope(ds.date_stats(date_from, date_to)),
               loaded_at, app)  # fmt: skip
    insert_raw(tenant, "raw_push_stats", "/v1/application/{id}/pushHeatmap",
               envelope(ds.push_heatmap(date_from, date_to)), loaded_at, app)  # fmt: skip
    campaigns = ds.campaigns()
    insert_raw(
        tenant, "raw_campaigns_api", "/v1/campaign", envelope(campaigns, count=len(campaigns)), loaded_at, app
    )
    return len(rows)


@contextmanager
def tenants_configured(tenants: Iterable[dict[str, Any]], folder: Path) -> Iterator[None]:
    """TENANTS_FILE names these tenants (id, upper-case name, time zone, application) for the block."""
    from lib.config import reload_settings

    path = folder / "tenants.yml"
    lines = ["tenants:"]
    for cfg in tenants:
        lines += [f"  - id: {cfg['tenant_id']}", f"    name: {cfg['tenant_id'].upper()}",
                  f"    timezone: {cfg['timezone']}", f"    application_ids: ['{cfg['application_id']}']"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    old = os.environ.get("TENANTS_FILE")
    os.environ["TENANTS_FILE"] = str(path)
    reload_settings()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TENANTS_FILE", None)
        else:
            os.environ["TENANTS_FILE"] = old
        reload_settings()


def transform_tenant(cfg: dict[str, Any]) -> Loaded:
    """One test tenant's simulator window into raw.*, then public.* by lib.transform (every transform and
    post-transform: the pipeline's own SQL, not a copy of it)."""
    from lib.transform import run_all

    ds = Dataset(seed=cfg["seed"], tenant_id=cfg["tenant_id"], timezone=cfg["timezone"],
                 application_id=cfg["application_id"], scale=cfg["scale"])  # fmt: skip
    t = cfg["tenant_id"]
    load_raw(t, ds, cfg["date_from"], cfg["date_to"], app=cfg["application_id"])
    results = run_all(tenant_id=t)
    failed = [(r.step, r.errors) for r in results if not r.ok]
    assert not failed, failed
    history = ds.history_rows(cfg["date_from"], cfg["date_to"])
    sessions = ds.agent_sessions(cfg["date_from"], cfg["date_to"])
    return Loaded(t, cfg["timezone"], ds, history, sessions, cfg["date_from"], cfg["date_to"])


INSERTS = {
    "tenants": "INSERT INTO public.tenants (id, name, timezone) VALUES %s",
    "messages": (
        'INSERT INTO public.messages (tenant_id, message_id, "timestamp", date, hour, day_of_week, send_type, '
        "direction, content_type, status, contact_name, contact_id, conversation_id, agent_id, close_reason, "
        "intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, "
        "channel, integration) VALUES %s"
    ),
    "chat_conversations": (
        "INSERT INTO public.chat_conversations (tenant_id, session_id, conversation_session_id, contact_id, "
        "agent_id, agent_email, channel, queued_at, assigned_at, closed_at, initial_session_id, "
        "wait_time_seconds, handle_time_seconds) VALUES %s"
    ),
    "contacts": (
        "INSERT INTO public.contacts (tenant_id, contact_id, contact_name, channel, source_created_at, "
        "source_updated_at) VALUES %s"
    ),
    "agents": "INSERT INTO public.agents (tenant_id, agent_id, agent_email) VALUES %s",
    "chat_channels": (
        "INSERT INTO public.chat_channels (tenant_id, channel_id, channel_type, channel_name, phone_number, "
        "status) VALUES %s"
    ),
    "toques_daily": (
        "INSERT INTO public.toques_daily (tenant_id, date, canal, proyecto_cuenta, enviados, entregados, clicks, "
        "abiertos, ctr, tasa_entrega, open_rate) VALUES %s"
    ),
    "campaigns": (
        "INSERT INTO public.campaigns (tenant_id, campana_id, campana_nombre, canal, tipo_campana, "
        "total_enviados, total_entregados, total_clicks, fecha_inicio, fecha_fin, ctr, application_id, "
        "total_abiertos) VALUES %s"
    ),
    "toques_heatmap": (
        "INSERT INTO public.toques_heatmap (tenant_id, canal, dia_semana, hora, ctr, dia_orden) VALUES %s"
    ),
}


def insert_rows(db_url: str, rows: dict[str, list[tuple]]) -> None:
    """Bulk-insert public rows as the owner (setup only)."""
    import psycopg2
    from psycopg2.extras import execute_values

    from lib.db import to_dsn

    conn = psycopg2.connect(to_dsn(db_url))
    try:
        with conn, conn.cursor() as cur:
            for table, sql in INSERTS.items():
                if rows.get(table):
                    execute_values(cur, sql, rows[table], page_size=2000)
    finally:
        conn.close()


EDGE = "edge"  # hand-made rows: the edge cases of the KPI definitions (docs/contracts.md)
EDGE_TZ = ZoneInfo("America/Bogota")


def _local(day: str, hms: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hms}").replace(tzinfo=EDGE_TZ)


def edge_rows() -> dict[str, list[tuple]]:
    """Five contacts, 2026-03-10..12 (Bogotá): e1 asks for an agent and gives up in the queue (not
    contained), with a fallback flagged on a bot message too; e2 comes back within 24 h; e3 closes
    less than 24 h before the end of the data (censored); e4's agent session crosses midnight; e5 is
    the last message of the data."""
    t = EDGE
    welcome, saldo, fb = "Default Welcome Intent", "[1.2] Consulta de saldo", "Default Fallback Intent"
    # (id, day, time, contact, send_type, intent, is_fallback, session, agent, channel)
    spec = [
        ("e1-1", "2026-03-10", "10:00:00", "e1", "input", welcome, False, None, None, "cloudapi"),
        ("e1-2", "2026-03-10", "10:00:05", "e1", "dialogflow", None, None, None, None, "cloudapi"),
        ("e1-3", "2026-03-10", "10:01:00", "e1", "input", saldo, False, None, None, "cloudapi"),
        ("e1-4", "2026-03-10", "10:01:05", "e1", "dialogflow", fb, True, None, None, "cloudapi"),
        ("e1-5", "2026-03-10", "10:02:00", "e1", "input", fb, True, None, None, "cloudapi"),
        ("e1-6", "2026-03-10", "10:03:00", "e1", "agent_notification", None, None, "es1", None, "cloudapi"),
        ("e2-1", "2026-03-10", "11:00:00", "e2", "input", welcome, False, None, None, "cloudapi"),
        ("e2-2", "2026-03-10", "11:00:05", "e2", "dialogflow", None, None, None, None, "cloudapi"),
        ("e2-3", "2026-03-10", "11:01:00", "e2", "input", "[3.1] Oficinas y horarios", False, None, None, "cloudapi"),
        ("e2-4", "2026-03-10", "11:01:05", "e2", "dialogflow", None, None, None, None, "cloudapi"),
        ("e2-5", "2026-03-10", "20:00:00", "e2", "input", "[3.2] Créditos", False, None, None, "cloudapi"),
        ("e2-6", "2026-03-10", "20:00:05", "e2", "dialogflow", None, None, None, None, "cloudapi"),
        ("e4-1", "2026-03-11", "23:40:00", "e4", "input", "[4.1] Hablar con un asesor", False, None, None, "cloudapi"),
        ("e4-2", "2026-03-11", "23:41:00", "e4", "agent_notification", None, None, "es4", None, "cloudapi"),
        ("e4-3", "2026-03-11", "23:50:00", "e4", "operator", None, None, "es4", "a9", "cloudapi"),
        ("e4-4", "2026-03-12", "00:05:00", "e4", "input", None, None, "es4", "a9", "cloudapi"),
        ("e4-5", "2026-03-12", "00:10:00", "e4", "operator", None, None, "es4", "a9", "cloudapi"),
        ("e3-1", "2026-03-12", "12:00:00", "e3", "input", "[1.3] Extractos", False, None, None, "webchat"),
        ("e3-2", "2026-03-12", "12:00:05", "e3", "dialogflow", None, None, None, None, "webchat"),
        ("e5-1", "2026-03-12", "23:00:00", "e5", "input", welcome, False, None, None, "cloudapi"),
        ("e5-2", "2026-03-12", "23:00:05", "e5", "dialogflow", None, None, None, None, "cloudapi"),
    ]  # fmt: skip
    rows: dict[str, list[tuple]] = {k: [] for k in INSERTS}
    rows["tenants"].append((t, "EDGE", "America/Bogota"))
    for mid, day, hms, contact, st, intent, fallback, session, agent, channel in spec:
        ts = _local(day, hms)
        integration = "agent" if session else "df"
        rows["messages"].append(
            (t, mid, ts, ts.date(), ts.hour, ts.strftime("%A"), st, direction(st, integration), "text", None,
             f"Contacto {contact}", contact, session, agent, None, intent, fallback, f"texto {mid}",
             integration == "df" and st != "input", st == "operator", None, None, channel, integration)
        )  # fmt: skip
    rows["chat_conversations"] += [
        (t, "es1", "c1", "e1", None, None, "cloudapi", _local("2026-03-10", "10:03:00"), None,
         _local("2026-03-10", "10:25:00"), "es1", None, None),
        (t, "es4", "c4", "e4", "a9", "ana.gomez@edge.co", "cloudapi", _local("2026-03-11", "23:41:00"),
         _local("2026-03-11", "23:49:00"), _local("2026-03-12", "00:20:00"), "es4", 480, 1860),
    ]  # fmt: skip
    rows["contacts"] += [
        (t, c, f"Contacto {c}", "cloudapi", None, None) for c in ("e1", "e2", "e3", "e4", "e5")
    ]
    rows["agents"].append((t, "a9", "ana.gomez@edge.co"))
    return rows


def load_public(db_url: str, folder: Path) -> dict[str, Loaded]:
    """Every test tenant's simulator window through raw.* and lib.transform into public.*, plus the
    hand-made EDGE tenant's public rows."""
    with tenants_configured(TENANTS, folder):
        out = {cfg["tenant_id"]: transform_tenant(cfg) for cfg in TENANTS}
    insert_rows(db_url, edge_rows())
    return out


@dataclass
class Built:
    """The session's database after load + `dbt build`."""

    db_url: str
    tenants: dict[str, Loaded]
    result: Any  # lib.steps.StepResult
    run_dir: Any


_CACHE: dict[str, Built] = {}


@pytest.fixture(scope="session")
def dbt_build(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """public.* loaded from the simulator, then one `dbt build` (cached per database)."""
    if db_url not in _CACHE:
        from lib.dbt_runner import run_dbt

        tenants = load_public(db_url, tmp_path_factory.mktemp("dbt-tenants"))
        run_dir = tmp_path_factory.mktemp("dbt-run")
        result = run_dbt("build", run_dir=run_dir)
        _CACHE[db_url] = Built(db_url, tenants, result, run_dir)
    return _CACHE[db_url]
