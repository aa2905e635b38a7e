"""Shared fixtures of the dbt/KPI tests: simulator data loaded into public.*, one `dbt build` per session.

Until the transforms drive these tests, `load_public()` maps `lib.simulator.Dataset` rows onto the
public tables with the data model's rules (direction, is_bot, is_human, tenant-local date/hour).
A pytest plugin of tests/conftest.py: request `dbt_build` in a test (no import needed); the build
itself is cached per database, so several modules still share one `dbt build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
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


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _secs(start: datetime | None, end: datetime | None) -> int | None:
    return int((end - start).total_seconds()) if start and end else None


def direction(send_type: str | None, integration: str | None) -> str:
    """The data model's direction rule."""
    mapping = {"input": "Inbound", "operator": "Agent", "dialogflow": "Bot", "agent_notification": "System"}
    if send_type in mapping:
        return mapping[send_type]
    return "Bot" if integration == "df" else "Outbound"


@dataclass
class Loaded:
    """What load_public wrote for one tenant (the Dataset and its source rows)."""

    tenant_id: str
    timezone: str
    ds: Dataset
    history: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    date_from: str
    date_to: str


def public_rows(cfg: dict[str, Any]) -> tuple[Loaded, dict[str, list[tuple]]]:
    """Rows for every public table of one tenant, from the simulator."""
    ds = Dataset(
        seed=cfg["seed"],
        tenant_id=cfg["tenant_id"],
        timezone=cfg["timezone"],
        application_id=cfg["application_id"],
        scale=cfg["scale"],
    )
    tz = ZoneInfo(cfg["timezone"])
    t = cfg["tenant_id"]
    history = ds.history_rows(cfg["date_from"], cfg["date_to"])
    sessions = ds.agent_sessions(cfg["date_from"], cfg["date_to"])
    rows: dict[str, list[tuple]] = {
        k: []
        for k in (
            "tenants",
            "messages",
            "chat_conversations",
            "contacts",
            "agents",
            "chat_channels",
            "toques_daily",
            "campaigns",
            "toques_heatmap",
            "daily_stats",
        )
    }
    rows["tenants"].append((t, t.upper(), cfg["timezone"]))
    for r in history:
        ts = _ts(r["messageDate"])
        local = ts.astimezone(tz)
        queued, assigned, closed = (
            _ts(r["agentQueuedAt"]),
            _ts(r["agentAssignedAt"]),
            _ts(r["agentClosedAt"]),
        )
        rows["messages"].append(
            (
                t,
                r["messageId"],
                ts,
                local.date(),
                local.hour,
                local.strftime("%A"),
                r["sendType"],
                direction(r["sendType"], r["integration"]),
                r["contentType"],
                r["status"],
                r["profileName"],
                r["contactId"],
                r["agentConversationId"],
                r["agentId"],
                r["agentCloseReason"],
                r["dfIntentName"],
                (r["isFallback"] == "Yes") if r["isFallback"] else None,
                r["content"],
                r["integration"] == "df" and r["sendType"] != "input",
                r["sendType"] == "operator",
                _secs(queued, assigned),
                _secs(assigned, closed),
                r["channel"],
                r["integration"],
            )
        )
    agents: dict[str, str | None] = {}
    for s in sessions:
        queued, assigned, closed = _ts(s["queuedAt"]), _ts(s["assignedAt"]), _ts(s["closedAt"])
        agent = str(s["agentId"]) if s["agentId"] is not None else None
        if agent:
            agents[agent] = s["email"]
        rows["chat_conversations"].append(
            (
                t,
                str(s["agentSessionId"]),
                str(s["conversationSessionId"]),
                s["contactId"],
                agent,
                s["email"],
                s["channel"],
                queued,
                assigned,
                closed,
                str(s["initialAgentSession"]),
                _secs(queued, assigned),
                _secs(assigned, closed),
            )
        )
    for c in ds.contacts():
        rows["contacts"].append(
            (t, c["contactId"], c["profileName"], c["channel"], _ts(c["createdAt"]), _ts(c["updatedAt"]))
        )
    for agent_id, email in sorted(agents.items()):
        rows["agents"].append((t, agent_id, email))
    for ch in ds.channels():
        rows["chat_channels"].append(
            (t, str(ch["id"]), ch["type"], ch["name"], ch["phoneNumber"], ch["status"])
        )
    for d in ds.date_stats(cfg["date_from"], cfg["date_to"]):
        sent, ok, rec, clk = (
            d["numDevicesSent"],
            d["numDevicesSuccess"],
            d["numDevicesReceived"],
            d["numDevicesClicked"],
        )
        rows["toques_daily"].append(
            (
                t,
                date.fromisoformat(d["statsDate"]),
                d["platformGroup"],
                cfg["application_id"],
                sent,
                ok,
                clk,
                rec,
                round(100 * clk / sent, 2) if sent else None,
                round(100 * ok / sent, 2) if sent else None,
                round(100 * rec / ok, 2) if ok else None,
            )
        )
    for c in ds.campaigns():
        st = c["stats"]
        rows["campaigns"].append(
            (
                t,
                str(c["id"]),
                c["name"],
                c["channel"],
                c["status"],
                st["sent"],
                st["delivered"],
                st["clicked"],
                _ts(c["sendDate"]).date() if c["sendDate"] else None,
                _ts(c["endDate"]).date() if c["endDate"] else None,
                round(100 * st["clicked"] / st["sent"], 2) if st["sent"] else None,
                cfg["application_id"],
                st["opened"],
            )
        )
    heat = ds.push_heatmap(cfg["date_from"], cfg["date_to"])["weekday-hour"]
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    for w, hours in heat.items():
        for h, v in hours.items():
            rows["toques_heatmap"].append((t, "general", w, int(h), round(100 * v, 2), weekdays.index(w) + 1))
    loaded = Loaded(t, cfg["timezone"], ds, history, sessions, cfg["date_from"], cfg["date_to"])
    return loaded, rows


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


def load_public(db_url: str) -> dict[str, Loaded]:
    """Load every test tenant's simulator window into public.*, plus the hand-made EDGE tenant."""
    out = {}
    for cfg in TENANTS:
        loaded, rows = public_rows(cfg)
        insert_rows(db_url, rows)
        out[loaded.tenant_id] = loaded
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

        tenants = load_public(db_url)
        run_dir = tmp_path_factory.mktemp("dbt-run")
        result = run_dbt("build", run_dir=run_dir)
        _CACHE[db_url] = Built(db_url, tenants, result, run_dir)
    return _CACHE[db_url]
