"""Transform bridge (lib.transform) against a real PostgreSQL: rules, time zones, duplicates, rejects,
idempotence, incremental = full refresh, tenant isolation. Each test uses its own tenant ids."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fixtures_dbt import envelope, insert_raw, load_raw
from fixtures_dbt import history_page as page
from sqlalchemy import text

from lib.api.history_csv import HISTORY_COLUMNS


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    """This module loads tenants through the pipeline: its own database, not the session's."""
    return module_db_url


APP = "100274"
TENANTS = {
    # id: time zone
    "tx_msg": "America/Bogota",
    "tx_msg_utc": "UTC",
    "tx_dup": "America/Bogota",
    "tx_rej": "America/Bogota",
    "tx_conv": "America/Bogota",
    "tx_cont": "America/Bogota",
    "tx_push": "America/Bogota",
    "tx_camp": "America/Bogota",
    "tx_inc": "America/Bogota",
    "tx_full": "America/Bogota",
    "tx_idem": "America/Bogota",
    "tx_iso_a": "America/Bogota",
    "tx_iso_b": "America/Bogota",
    "tx_move": "America/Bogota",
    "tx_cli": "America/Bogota",
    "tx_late": "America/Bogota",
    "tx_heat": "America/Bogota",
}
PUBLIC_TABLES = (
    "contacts", "daily_stats", "toques_daily", "toques_heatmap", "campaigns", "messages",
    "chat_conversations", "chat_channels", "agents",
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def tenants_file(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A tenants.yml with every tenant of this module; settings reloaded around the module."""
    from lib.config import reload_settings

    path = tmp_path_factory.mktemp("tenants") / "tenants.yml"
    lines = ["tenants:"]
    for tid, tz in TENANTS.items():
        lines += [
            f"  - id: {tid}",
            f"    name: {tid}",
            f"    timezone: {tz}",
            f"    application_ids: ['{APP}']",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    old = os.environ.get("TENANTS_FILE")
    os.environ["TENANTS_FILE"] = str(path)
    reload_settings()
    yield
    if old is None:
        os.environ.pop("TENANTS_FILE", None)
    else:
        os.environ["TENANTS_FILE"] = old
    reload_settings()


# -- helpers ---------------------------------------------------------------------------------------
def hrow(message_id: str | None, message_date: str | None, **fields: str | None) -> dict[str, str | None]:
    """A 24-column history CSV row (all None but the given fields)."""
    row: dict[str, str | None] = dict.fromkeys(HISTORY_COLUMNS)
    row.update(messageId=message_id, messageDate=message_date, **fields)
    return row


def history(tenant: str, rows: list[dict[str, Any]], loaded_at: str | None = None) -> int:
    return insert_raw(tenant, "raw_chat_stats", "/v1/chat/history/csv", page(rows), loaded_at)


def rows_of(tenant: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    from lib.db import tenant_tx

    with tenant_tx(tenant, "pipeline") as conn:  # reads raw too: the pipeline's login (the app has no raw)
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def by_key(tenant: str, table: str, key: str) -> dict[str, dict[str, Any]]:
    return {str(r[key]): r for r in rows_of(tenant, f"SELECT * FROM public.{table}")}  # noqa: S608


def content(tenant: str, table: str) -> list[tuple]:
    """A table's rows for a tenant without id/updated_at/tenant_id, sorted (for equality checks)."""
    out = []
    for r in rows_of(tenant, f"SELECT * FROM public.{table}"):  # noqa: S608
        out.append(
            tuple(sorted((k, repr(v)) for k, v in r.items() if k not in ("id", "updated_at", "tenant_id")))
        )
    return sorted(out)


def versions(tenant: str) -> dict[str, list[tuple]]:
    """(xmin, updated_at) of every public row of the tenant: unchanged iff no row was rewritten."""
    return {
        t: [
            tuple(r.values())
            for r in rows_of(tenant, f"SELECT id, xmin::text, updated_at FROM public.{t} ORDER BY id")  # noqa: S608
        ]
        for t in PUBLIC_TABLES
    }


def run(name: str, tenant: str, **kw: Any):
    from lib.transform import run_transform

    res = run_transform(name, tenant_id=tenant, **kw)
    assert res.ok, res.errors
    return res


def run_everything(tenant: str, **kw: Any) -> dict[str, Any]:
    from lib.transform import run_all

    results = run_all(tenant_id=tenant, **kw)
    assert all(r.ok for r in results), [r.errors for r in results]
    return {r.step: r for r in results}


def load_dataset(
    tenant: str,
    date_from: str,
    date_to: str,
    loaded_at: str | None = None,
    page_size: int = 1500,
    scale: float = 0.25,
) -> int:
    """Generator-based raw rows (simulator Dataset) for a window, in the extractors' raw format."""
    from lib.simulator.data import Dataset

    ds = Dataset(seed=11, tenant_id="gen", timezone=TENANTS[tenant], application_id=APP, scale=scale)
    return load_raw(tenant, ds, date_from, date_to, loaded_at=loaded_at, page_size=page_size, app=APP)


# -- messages --------------------------------------------------------------------------------------
SESSION = dict(integration="agent", agentConversationId="7001", agentQueuedAt="2026-03-02T15:00:00+00:00",
               agentAssignedAt="2026-03-02T15:01:30+00:00", agentClosedAt="2026-03-02T15:11:30+00:00",
               agentCloseReason="AGENT_ACTION", agentId="1234", contactId="573001", profileName="Ana 🌸",
               channel="cloudapi")  # fmt: skip
BODY = 'Hola "amigo" 😀, ¿qué tal?\nlínea 2, con coma'
MESSAGE_ROWS = [
    # 02:30 UTC on Tuesday 3 March = 21:30 on Monday 2 March in Bogota (UTC-5)
    hrow("1", "2026-03-03T02:30:00+00:00", sendType="input", integration="df", contentType="text",
         contactId="573001", profileName="Ana 🌸", dfIntentName="Default Fallback Intent", isFallback="Yes",
         content=BODY, channel="cloudapi", status=None),
    hrow("2", "2026-03-02T15:00:05+00:00", sendType="dialogflow", integration="df", contentType="text",
         contactId="573001", status="channel_read", isFallback="No"),
    hrow("3", "2026-03-02T15:02:00+00:00", sendType="operator", contentType="text", status="channel_delivered",
         content="Con gusto", **SESSION),
    hrow("4", "2026-03-02T15:01:30+00:00", sendType="agent_notification", contentType="event", **SESSION),
    hrow("5", "2026-03-02T16:00:00+00:00", sendType="note", integration="df", contactId="573002"),
    hrow("6", "2026-03-02T16:00:01+00:00", sendType="note", integration="agent", contactId="573002", status=""),
    hrow("7", "2026-03-02T16:05:00+00:00", sendType="operator", integration="agent", contactId="573002",
         agentConversationId="7002", agentId="1234", agentQueuedAt="2026-03-02T16:04:00+00:00",
         agentAssignedAt="2026-03-02T16:03:00+00:00", isFallback=""),
]  # fmt: skip


def test_messages_rules_and_time_zone() -> None:
    for tenant in ("tx_msg", "tx_msg_utc"):
        history(tenant, MESSAGE_ROWS)
        res = run("messages", tenant)
        assert (res.rows_in, res.rows_out, res.rejects) == (7, 7, 0)
    m = by_key("tx_msg", "messages", "message_id")
    first = m["1"]
    assert (first["date"], first["hour"], first["day_of_week"]) == (date(2026, 3, 2), 21, "Monday")
    assert first["timestamp"].isoformat() == "2026-03-03T02:30:00+00:00"
    assert (first["direction"], first["is_bot"], first["is_human"], first["is_fallback"]) == (
        "Inbound",
        False,
        False,
        True,
    )
    assert first["intent"] == "Default Fallback Intent" and first["message_body"] == BODY
    assert first["contact_name"] == "Ana 🌸" and first["contact_id"] == "573001" and first["status"] is None
    assert (m["2"]["direction"], m["2"]["is_bot"], m["2"]["is_fallback"], m["2"]["status"]) == (
        "Bot",
        True,
        False,
        "channel_read",
    )
    third = m["3"]
    assert (third["direction"], third["is_human"], third["is_bot"]) == ("Agent", True, False)
    assert (third["wait_time_seconds"], third["handle_time_seconds"]) == (90, 600)
    assert (third["conversation_id"], third["agent_id"], third["close_reason"]) == (
        "7001",
        "1234",
        "AGENT_ACTION",
    )
    assert (third["channel"], third["integration"], third["date"], third["hour"]) == (
        "cloudapi",
        "agent",
        date(2026, 3, 2),
        10,
    )
    assert m["4"]["direction"] == "System"
    assert (m["5"]["direction"], m["5"]["is_bot"]) == ("Bot", True)  # other sendType, integration df
    assert (m["6"]["direction"], m["6"]["is_bot"], m["6"]["status"]) == ("Outbound", False, None)
    # assigned before queued: negative wait -> NULL; closedAt missing -> handle NULL; '' -> NULL
    assert (m["7"]["wait_time_seconds"], m["7"]["handle_time_seconds"], m["7"]["is_fallback"]) == (
        None,
        None,
        None,
    )
    utc = by_key("tx_msg_utc", "messages", "message_id")["1"]
    assert (utc["date"], utc["hour"], utc["day_of_week"]) == (date(2026, 3, 3), 2, "Tuesday")


def test_duplicates_latest_loaded_at_wins_then_raw_id_then_row() -> None:
    t = "tx_dup"
    history(t, [hrow("10", "2026-03-02T15:00:00+00:00", content="newest")], "2026-03-05T00:00:00Z")
    # a higher raw id, but an older loaded_at: loses
    history(t, [hrow("10", "2026-03-02T15:00:00+00:00", content="older load")], "2026-03-04T00:00:00Z")
    # the same key twice in one page: the later row wins
    history(t, [hrow("11", "2026-03-02T15:00:00+00:00", content="a"),
                hrow("11", "2026-03-02T15:00:00+00:00", content="b")], "2026-03-05T00:00:00Z")  # fmt: skip
    res = run("messages", t)
    assert (res.rows_in, res.rows_out) == (4, 2)
    m = by_key(t, "messages", "message_id")
    assert (m["10"]["message_body"], m["11"]["message_body"]) == ("newest", "b")
    # incremental: a newer version updates the row (and only that row's updated_at moves) ...
    history(t, [hrow("10", "2026-03-02T15:00:00+00:00", content="re-extracted")], "2026-03-06T00:00:00Z")
    assert run("messages", t).rows_out == 1
    m2 = by_key(t, "messages", "message_id")
    assert m2["10"]["message_body"] == "re-extracted" and m2["10"]["updated_at"] > m["10"]["updated_at"]
    assert m2["11"]["updated_at"] == m["11"]["updated_at"]
    # ... and a late-arriving older version (out-of-order loaded_at) does not win: full pass fallback
    history(t, [hrow("10", "2026-03-02T15:00:00+00:00", content="stale")], "2026-03-01T00:00:00Z")
    res = run("messages", t)
    assert res.metrics.get("out_of_order_fallback") is True and res.warnings
    assert res.rows_out == 0
    assert by_key(t, "messages", "message_id")["10"]["message_body"] == "re-extracted"


def test_rejects_are_counted_sampled_and_left_in_raw() -> None:
    t = "tx_rej"
    good = hrow("20", "2026-03-02T15:00:00+00:00", sendType="input")
    bad = [
        hrow(None, "2026-03-02T15:00:00+00:00"),
        hrow("21", "2026-02-30T10:00:00+00:00"),
        hrow("22", "not a date"),
        hrow("23", None),
        hrow("24", "2026-03-02T15:00:00+00:00", agentQueuedAt="yesterday"),
    ]
    history(t, [good, *bad])
    insert_raw(t, "raw_chat_stats", "/v1/chat/history/csv", {"format": "csv", "rows": "oops"})
    insert_raw(t, "raw_chat_stats", "/v1/chat/agent/conversations",
               envelope([{"agentSessionId": None, "queuedAt": "2026-03-02T15:00:00Z"},
                         {"agentSessionId": 9, "queuedAt": "garbage"}]))  # fmt: skip
    insert_raw(
        t,
        "raw_push_stats",
        "/v1/application/{id}/dateStats",
        envelope([{"platformGroup": "ios", "statsDate": "2026-13-01", "numDevicesSent": 1}]),
    )
    results = run_everything(t)
    res = results["messages"]
    # 24's unparseable agent timestamp is a reject too, but the message is kept with that field NULL
    assert res.ok and (res.rows_in, res.rows_out, res.rejects) == (7, 2, 6)
    reasons = {s["reason"] for s in res.reject_samples}
    assert {"missing messageId", "unparseable messageDate"} <= reasons and len(res.reject_samples) == 5
    assert res.metrics["kept_with_null_fields"] == 1
    assert res.warnings and "stay in raw" in res.warnings[0]
    assert results["chat_conversations"].rejects == 2 and results["toques_daily"].rejects == 1
    assert {s["reason"] for s in results["chat_conversations"].reject_samples} == {
        "missing agentSessionId",
        "unparseable queuedAt (row kept, set to NULL)",
    }
    assert rows_of(t, "SELECT count(*) AS n FROM raw.raw_chat_stats")[0]["n"] == 3  # nothing removed
    messages = by_key(t, "messages", "message_id")
    assert sorted(messages) == ["20", "24"] and messages["24"]["wait_time_seconds"] is None
    assert messages["24"]["send_type"] is None and messages["24"]["date"] == date(2026, 3, 2)
    session = by_key(t, "chat_conversations", "session_id")["9"]
    assert session["queued_at"] is None and session["wait_time_seconds"] is None


# -- conversations, agents, contacts ---------------------------------------------------------------
def session(
    sid: str, agent: str, queued: str | None, assigned: str | None, closed: str | None, **kw: Any
) -> dict:
    return {"agentSessionId": int(sid), "conversationSessionId": kw.get("conv", f"c{sid}"), "contactId": "573100",
            "agentId": int(agent), "email": kw.get("email", f"agent{agent}@x.co"), "channel": "cloudapi",
            "queuedAt": queued, "assignedAt": assigned, "closedAt": closed,
            "initialAgentSession": kw.get("initial")}  # fmt: skip


def test_conversations_transfers_open_sessions_anomalies_and_agents() -> None:
    t = "tx_conv"
    sessions = [
        session("1", "11", "2026-03-02T15:00:00.000Z", "2026-03-02T15:00:30.000Z", "2026-03-02T15:05:30.000Z",
                conv="cs1", email="old@x.co"),
        # transfer: a new session of the same conversation, initialAgentSession = the first one
        session("2", "12", "2026-03-02T15:05:30.000Z", "2026-03-02T15:06:00.000Z", "2026-03-02T15:16:00.000Z",
                conv="cs1", initial="1"),
        session("3", "11", "2026-03-02T16:00:00.000Z", "2026-03-02T16:00:10.000Z", None, email="new@x.co"),  # open
        session("4", "12", "2026-03-02T17:00:00.000Z", "2026-03-02T16:59:00.000Z", "2026-03-02T17:10:00.000Z"),
        session("5", "13", "2026-03-02T18:00:00.000Z", None, "2026-03-02T18:01:00.000Z"),  # abandoned
    ]  # fmt: skip
    insert_raw(t, "raw_chat_stats", "/v1/chat/agent/conversations", envelope(sessions))
    history(t, [hrow("30", "2026-03-02T15:01:00+00:00", sendType="operator", agentId="11", contactId="573100"),
                hrow("31", "2026-03-02T15:07:00+00:00", sendType="operator", agentId="12", contactId="573100"),
                hrow("32", "2026-03-02T15:08:00+00:00", sendType="operator", agentId="12", contactId="573100"),
                hrow("33", "2026-03-02T15:09:00+00:00", sendType="operator", agentId="99", contactId="573100")])  # fmt: skip
    results = run_everything(t)
    res = results["chat_conversations"]
    assert (res.rows_in, res.rows_out, res.rejects) == (5, 5, 0)
    assert res.metrics["anomalies"] == 1 and res.metrics["anomaly_samples"] == ["4"]
    assert res.metrics["open_sessions"] == 1 and any("anomal" in w for w in res.warnings)
    c = by_key(t, "chat_conversations", "session_id")
    assert (c["1"]["wait_time_seconds"], c["1"]["handle_time_seconds"]) == (30, 300)
    assert (
        c["2"]["conversation_session_id"],
        c["2"]["initial_session_id"],
        c["2"]["handle_time_seconds"],
    ) == ("cs1", "1", 600)
    assert (c["3"]["wait_time_seconds"], c["3"]["handle_time_seconds"], c["3"]["closed_at"]) == (
        10,
        None,
        None,
    )
    assert (c["4"]["wait_time_seconds"], c["4"]["handle_time_seconds"]) == (
        None,
        660,
    )  # negative wait -> NULL
    assert (c["5"]["wait_time_seconds"], c["5"]["handle_time_seconds"]) == (None, None)
    assert (c["1"]["agent_id"], c["1"]["agent_email"], c["1"]["contact_id"]) == ("11", "old@x.co", "573100")
    a = by_key(t, "agents", "agent_id")
    assert (
        a["11"]["conversations_handled"],
        a["11"]["avg_handle_time_seconds"],
        a["11"]["total_messages"],
    ) == (2, 300, 1)
    assert a["11"]["agent_email"] == "new@x.co"  # the latest session's email
    assert (
        a["12"]["conversations_handled"],
        a["12"]["avg_handle_time_seconds"],
        a["12"]["total_messages"],
    ) == (2, 630, 2)  # (600 + 660) / 2
    assert (
        a["13"]["conversations_handled"],
        a["13"]["avg_handle_time_seconds"],
        a["13"]["total_messages"],
    ) == (1, None, 0)
    assert (a["99"]["conversations_handled"], a["99"]["total_messages"], a["99"]["agent_email"]) == (
        0,
        1,
        None,
    )


def test_contacts_channels_and_totals() -> None:
    t = "tx_cont"
    history(t, [hrow(str(i), f"2026-03-02T15:0{i - 30}:00+00:00", sendType="operator", contactId="573100")
                for i in range(30, 34)])  # fmt: skip
    contacts = [
        {"id": 1, "contactId": "573100", "profileName": "Luis \"Lucho\" 🚀", "channel": "cloudapi",
         "createdAt": "2025-05-29T02:01:19.632Z", "updatedAt": "2025-06-01T00:00:00.000Z"},
        {"id": 2, "contactId": "573200", "profileName": None, "channel": "webchat", "createdAt": None,
         "updatedAt": None},
    ]  # fmt: skip
    insert_raw(t, "raw_contacts_api", "/v1/chat/contacts", envelope(contacts))
    # the chat extractor may store contacts in raw_chat_stats too: the latest load wins across both
    insert_raw(
        t,
        "raw_chat_stats",
        "/v1/chat/contacts",
        envelope([{"id": 3, "contactId": "573300", "profileName": "Eva", "channel": "cloudapi"}]),
    )
    channels = [{"id": 501, "type": "cloudapi", "name": "WhatsApp", "phoneNumber": "+57 601 1", "status": "active",
                 "extra": {"k": 1}}]  # fmt: skip
    insert_raw(t, "raw_chat_stats", "/v1/chat/channel", envelope(channels))
    history(t, [hrow("34", "2026-03-04T03:00:00+00:00", sendType="input", contactId="573100",
                     agentConversationId="8")])  # fmt: skip
    run_everything(t)
    c = by_key(t, "contacts", "contact_id")
    assert set(c) == {"573100", "573200", "573300"}
    lucho = c["573100"]
    assert lucho["contact_name"] == 'Luis "Lucho" 🚀' and lucho["source_created_at"].isoformat().startswith(
        "2025-05-29T02:01:19.632"
    )
    # 5 messages; conversation ids: none on 30-33, '8' on 34 -> 1 distinct; dates tenant-local
    # 5 messages: 30-33 within minutes on 03-02, 34 two days later -> 2 conversations (the dashboards'
    # 30-minute rule, not distinct agent-session ids)
    assert (lucho["total_messages"], lucho["total_conversations"]) == (5, 2)
    # first_contact: the earlier of createdAt (2025-05-29T02:01Z = 05-28 in Bogota) and the first message
    assert (lucho["first_contact"], lucho["last_contact"]) == (date(2025, 5, 28), date(2026, 3, 3))
    assert (
        c["573200"]["total_messages"],
        c["573200"]["total_conversations"],
        c["573200"]["first_contact"],
    ) == (0, 0, None)
    ch = by_key(t, "chat_channels", "channel_id")["501"]
    assert (ch["channel_type"], ch["channel_name"], ch["phone_number"], ch["status"]) == (
        "cloudapi",
        "WhatsApp",
        "+57 601 1",
        "active",
    )
    assert ch["config"] == channels[0]


# -- push, heatmap, campaigns, daily_stats ----------------------------------------------------------
def ds_row(day: str, platform: str, sent: int, success: int, received: int, clicked: int) -> dict:
    return {"platformGroup": platform, "statsDate": day, "numDevicesSent": sent, "numDevicesSuccess": success,
            "numDevicesReceived": received, "numDevicesClicked": clicked}  # fmt: skip


def test_push_toques_daily_heatmap_and_daily_stats() -> None:
    t = "tx_push"
    insert_raw(t, "raw_push_stats", "/v1/application/{id}/dateStats",
               envelope([ds_row("2026-03-02", "android", 1000, 900, 450, 30),
                         ds_row("2026-03-02", "ios", 0, 0, 0, 0),
                         ds_row("2026-03-03", "android", 3, 0, 0, 1)]), "2026-03-04T00:00:00Z")  # fmt: skip
    # a second application; and a re-extraction of 2026-03-02 android (newer load wins)
    insert_raw(
        t,
        "raw_push_stats",
        "/v1/application/{id}/dateStats",
        envelope([ds_row("2026-03-02", "web", 200, 150, 60, 9)]),
        "2026-03-04T00:00:00Z",
        app="200",
    )
    insert_raw(
        t,
        "raw_push_stats",
        "/v1/application/{id}/dateStats",
        envelope([ds_row("2026-03-02", "android", 1200, 1000, 500, 36)]),
        "2026-03-05T00:00:00Z",
    )
    heat = {"heatmap": "general", "hour": {"8": 0.02}, "weekday": {"monday": 0.02},
            "weekday-hour": {"monday": {"8": 0.0204, "22": 0.1}, "sunday": {"9": 0}, "funday": {"8": 0.5},
                             "tuesday": {"24": 0.1, "10": "x"}}}  # fmt: skip
    insert_raw(t, "raw_push_stats", "/v1/application/{id}/pushHeatmap", envelope(heat))
    history(t, [hrow("40", "2026-03-02T15:00:00+00:00", contactId="1", agentConversationId="5", isFallback="Yes",
                     sendType="input", dfIntentName="Default Fallback Intent"),
                hrow("41", "2026-03-02T15:01:00+00:00", contactId="1", agentConversationId="5"),
                hrow("42", "2026-03-02T15:02:00+00:00", contactId="2", agentConversationId="6"),
                hrow("43", "2026-03-04T15:00:00+00:00", contactId="2")])  # fmt: skip
    results = run_everything(t)
    td = {
        (str(r["date"]), r["canal"], r["proyecto_cuenta"]): r
        for r in rows_of(t, "SELECT * FROM public.toques_daily")
    }
    assert len(td) == 4
    a = td[("2026-03-02", "android", APP)]
    assert (a["enviados"], a["entregados"], a["abiertos"], a["clicks"]) == (1200, 1000, 500, 36)
    assert (a["ctr"], a["tasa_entrega"], a["open_rate"]) == (
        Decimal("3.00"),
        Decimal("83.33"),
        Decimal("50.00"),
    )
    ios = td[("2026-03-02", "ios", APP)]
    assert (ios["ctr"], ios["tasa_entrega"], ios["open_rate"]) == (None, None, None)  # 0 denominators
    z = td[("2026-03-03", "android", APP)]
    assert (z["ctr"], z["tasa_entrega"], z["open_rate"]) == (Decimal("33.33"), Decimal("0.00"), None)
    assert td[("2026-03-02", "web", "200")]["ctr"] == Decimal("4.50")
    # heatmap
    hm = {(r["dia_semana"], r["hora"]): r for r in rows_of(t, "SELECT * FROM public.toques_heatmap")}
    assert set(hm) == {("monday", 8), ("monday", 22), ("sunday", 9)}
    assert (hm[("monday", 8)]["ctr"], hm[("monday", 8)]["dia_orden"], hm[("monday", 8)]["canal"]) == (
        Decimal("2.04"),
        1,
        "push",
    )
    assert (hm[("monday", 22)]["ctr"], hm[("sunday", 9)]["ctr"], hm[("sunday", 9)]["dia_orden"]) == (
        Decimal("10.00"),
        Decimal("0.00"),
        7,
    )
    assert results["toques_heatmap"].rejects == 3  # funday, hour 24, non-numeric rate
    # daily_stats: push part (step 2) + chat part (post-transform)
    assert results["daily_stats"].rows_out == 2
    d = {str(r["date"]): r for r in rows_of(t, "SELECT * FROM public.daily_stats")}
    assert set(d) == {"2026-03-02", "2026-03-03", "2026-03-04"}
    d2 = d["2026-03-02"]
    assert (d2["chat_messages"], d2["push_enviados"], d2["total_messages"]) == (3, 1400, 1403)
    assert (d2["unique_contacts"], d2["conversations"], d2["fallback_count"]) == (2, 2, 1)
    assert (
        d["2026-03-03"]["chat_messages"],
        d["2026-03-03"]["push_enviados"],
        d["2026-03-03"]["total_messages"],
    ) == (0, 3, 3)
    d4 = d["2026-03-04"]
    # a message without an agent session still starts a conversation (the dashboards' rule)
    assert (d4["chat_messages"], d4["push_enviados"], d4["total_messages"], d4["conversations"]) == (
        1,
        0,
        1,
        1,
    )


def test_campaigns_read_defensively() -> None:
    t = "tx_camp"
    items = [
        {"id": 101, "name": "Promo", "channel": "push", "status": "sent", "createdAt": "2026-03-01T10:00:00.000Z",
         "sendDate": "2026-03-03T02:00:00.000Z", "endDate": "2026-03-04T12:00:00.000Z",
         "stats": {"sent": 200, "delivered": 180, "clicked": 9, "opened": 40}},
        {"campaignId": "c-2", "title": "Alt", "type": "SMS", "status": "draft", "createdAt": "2026-03-01T10:00:00.000Z",
         "sent": 0, "clicks": 0},
        {"name": "no id"},
    ]  # fmt: skip
    insert_raw(t, "raw_campaigns_api", "/v1/campaign", envelope(items, count=3))
    res = run("campaigns", t)
    assert (res.rows_in, res.rows_out, res.rejects) == (3, 2, 1)
    c = by_key(t, "campaigns", "campana_id")
    p = c["101"]
    assert (p["campana_nombre"], p["canal"], p["tipo_campana"], p["application_id"]) == (
        "Promo",
        "push",
        "sent",
        APP,
    )
    assert (p["total_enviados"], p["total_entregados"], p["total_clicks"], p["total_abiertos"]) == (
        200,
        180,
        9,
        40,
    )
    assert (p["ctr"], p["fecha_inicio"], p["fecha_fin"]) == (
        Decimal("4.50"),
        date(2026, 3, 2),
        date(2026, 3, 4),
    )
    alt = c["c-2"]
    # a draft was created, never sent: no start date (its createdAt is not one)
    assert (alt["campana_nombre"], alt["canal"], alt["total_enviados"], alt["ctr"], alt["fecha_inicio"]) == (
        "Alt",
        "sms",
        0,
        None,
        None,
    )


# -- idempotence, incremental = full, isolation -----------------------------------------------------
def test_idempotent_second_run_and_full_refresh_rewrite_nothing() -> None:
    t = "tx_idem"
    load_dataset(t, "2026-02-02", "2026-02-04")
    first = run_everything(t)
    assert first["messages"].rows_out > 500 and first["agents"].rows_out > 0
    before = versions(t)
    second = run_everything(t)
    assert all(r.rows_out == 0 for r in second.values()), {k: r.rows_out for k, r in second.items()}
    assert versions(t) == before
    full = run_everything(t, full_refresh=True)
    assert full["messages"].rows_in == first["messages"].rows_in
    assert all(r.rows_out == 0 for r in full.values()), {k: r.rows_out for k, r in full.items()}
    assert versions(t) == before


def test_incremental_equals_full_refresh_and_generator_consistency() -> None:
    inc, full = "tx_inc", "tx_full"
    # three extraction runs, the second and third re-extracting overlapping windows (newer loads)
    windows = [("2026-02-02", "2026-02-04", "2026-02-05T00:00:00Z"), ("2026-02-04", "2026-02-06", "2026-02-07T00:00:00Z"),
               ("2026-02-06", "2026-02-07", "2026-02-08T00:00:00Z")]  # fmt: skip
    for date_from, date_to, loaded in windows:
        load_dataset(inc, date_from, date_to, loaded)
        run_everything(inc)  # incremental after every extraction
        load_dataset(full, date_from, date_to, loaded)
    run_everything(full, full_refresh=True)  # one rebuild from all raw
    for table in PUBLIC_TABLES:
        assert content(inc, table) == content(full, table), table
    # and a full refresh of the incremental tenant changes nothing
    before = versions(inc)
    assert all(r.rows_out == 0 for r in run_everything(inc, full_refresh=True).values())
    assert versions(inc) == before
    # generator consistency: every generated message once; daily_stats adds up to the messages
    from lib.simulator.data import Dataset

    ds = Dataset(seed=11, tenant_id="gen", timezone=TENANTS[inc], application_id=APP, scale=0.25)
    ids = {r["messageId"] for r in ds.history_rows("2026-02-02", "2026-02-07")}
    n = rows_of(inc, "SELECT count(*) AS n, count(DISTINCT direction) AS d FROM public.messages")[0]
    assert n["n"] == len(ids) and n["d"] >= 4
    s = rows_of(inc, "SELECT sum(chat_messages) AS c, sum(push_enviados) AS p FROM public.daily_stats")[0]
    assert s["c"] == len(ids)
    assert s["p"] == rows_of(inc, "SELECT sum(enviados) AS p FROM public.toques_daily")[0]["p"]
    tot = rows_of(inc, "SELECT sum(total_messages) AS n FROM public.contacts")[0]["n"]
    known = rows_of(inc, "SELECT count(*) AS n FROM public.messages m WHERE EXISTS "
                         "(SELECT 1 FROM public.contacts c WHERE c.contact_id = m.contact_id)")[0]["n"]  # fmt: skip
    assert tot == known > 0
    sessions = rows_of(inc, "SELECT count(*) AS n, sum(conversations_handled) AS h FROM public.agents")[0]
    assert sessions["h"] == rows_of(inc, "SELECT count(*) AS n FROM public.chat_conversations "
                                         "WHERE agent_id IS NOT NULL")[0]["n"]  # fmt: skip


def test_post_transforms_recompute_old_and_new_keys() -> None:
    t = "tx_move"
    history(
        t,
        [hrow("50", "2026-03-02T15:00:00+00:00", contactId="1", agentId="7", sendType="operator")],
        "2026-03-03T00:00:00Z",
    )
    insert_raw(t, "raw_contacts_api", "/v1/chat/contacts", envelope([{"contactId": "1"}, {"contactId": "2"}]))
    run_everything(t)
    assert [str(r["date"]) for r in rows_of(t, "SELECT date FROM public.daily_stats")] == ["2026-03-02"]
    # re-extracted: the message moved to another day, contact and agent
    history(
        t,
        [hrow("50", "2026-03-05T15:00:00+00:00", contactId="2", agentId="8", sendType="operator")],
        "2026-03-06T00:00:00Z",
    )
    run_everything(t)
    assert [str(r["date"]) for r in rows_of(t, "SELECT date FROM public.daily_stats")] == ["2026-03-05"]
    c = by_key(t, "contacts", "contact_id")
    assert (c["1"]["total_messages"], c["2"]["total_messages"], c["2"]["first_contact"]) == (
        0,
        1,
        date(2026, 3, 5),
    )
    assert list(by_key(t, "agents", "agent_id")) == ["8"]


def test_tenant_isolation() -> None:
    a, b = "tx_iso_a", "tx_iso_b"
    history(a, [hrow("60", "2026-03-02T15:00:00+00:00", contactId="1")])
    history(b, [hrow("60", "2026-03-02T15:00:00+00:00", contactId="1", content="B's")])
    run_everything(b)
    b_before = versions(b)
    b_state = rows_of(
        b, "SELECT entity, source, last_raw_id, updated_at FROM ops.transform_state ORDER BY 1, 2"
    )
    history(a, [hrow("61", "2026-03-02T16:00:00+00:00", contactId="1")])
    results = run_everything(a)
    assert results["messages"].rows_in == 2  # never B's raw rows
    assert versions(b) == b_before
    assert (
        rows_of(b, "SELECT entity, source, last_raw_id, updated_at FROM ops.transform_state ORDER BY 1, 2")
        == b_state
    )
    assert set(by_key(a, "messages", "message_id")) == {"60", "61"}
    assert by_key(b, "messages", "message_id")["60"]["message_body"] == "B's"


def test_cli_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from lib.transform import POST_TRANSFORMS, TRANSFORMS
    from lib.transform.cli import main

    assert TRANSFORMS == ("contacts", "daily_stats", "toques_daily", "toques_heatmap", "campaigns", "messages",
                          "chat_conversations", "chat_channels")  # fmt: skip
    assert POST_TRANSFORMS == ("contacts_totals", "daily_stats_totals", "agents")
    history("tx_cli", [hrow("70", "2026-03-02T15:00:00+00:00")])
    assert main(argparse.Namespace(name=None, tenant="tx_cli", full_refresh=False)) == 0
    out = capsys.readouterr().out
    assert "messages" in out and "agents" in out and "rows out" in out
    assert main(argparse.Namespace(name="messages", tenant="tx_cli", full_refresh=True)) == 0
    assert main(argparse.Namespace(name="nope", tenant="tx_cli", full_refresh=False)) == 2


def test_raw_row_committed_late_below_the_watermark_is_not_lost() -> None:
    from lib.db import get_engine

    t = "tx_late"
    slow = get_engine("loader").connect()  # an extraction still in flight: its id is lower, it commits later
    tx = slow.begin()
    slow.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": t})
    slow.execute(
        text("INSERT INTO raw.raw_chat_stats (application_id, tenant_id, endpoint, source_data) "
             "VALUES (:app, :t, '/v1/chat/history/csv', CAST(:sd AS jsonb))"),
        {"app": APP, "t": t, "sd": json.dumps(page([hrow("80", "2026-03-02T15:00:00+00:00")]))},
    )  # fmt: skip
    history(t, [hrow("81", "2026-03-02T15:01:00+00:00")])
    assert run("messages", t).rows_out == 1
    tx.commit()
    slow.close()
    res = run("messages", t)
    assert res.metrics.get("late_rows_fallback") is True and res.rows_out == 1
    assert set(by_key(t, "messages", "message_id")) == {"80", "81"}


def test_time_zone_change_forces_full_refresh_by_itself(tmp_path, monkeypatch) -> None:
    """tenants.yml moves a tenant to another zone: with no new raw row, the next run re-derives dates."""
    from lib.config import reload_settings

    def zone(tz: str) -> None:
        path = tmp_path / f"tenants-{tz.replace('/', '_')}.yml"
        path.write_text(f"tenants:\n  - id: tx_tz\n    timezone: {tz}\n    application_ids: ['{APP}']\n")
        monkeypatch.setenv("TENANTS_FILE", str(path))
        reload_settings()

    try:
        zone("America/Bogota")
        history("tx_tz", MESSAGE_ROWS)
        run("messages", "tx_tz")
        first = by_key("tx_tz", "messages", "message_id")["1"]
        assert (first["date"], first["hour"]) == (date(2026, 3, 2), 21)
        again = run("messages", "tx_tz")  # nothing new, same zone: nothing to do
        assert again.rows_in == 0 and not again.metrics.get("timezone_fallback")
        zone("UTC")
        moved = run("messages", "tx_tz")
        assert moved.metrics.get("timezone_fallback") and moved.rows_in == 7
        assert any("time zone changed" in w for w in moved.warnings)
        first = by_key("tx_tz", "messages", "message_id")["1"]
        assert (first["date"], first["hour"]) == (date(2026, 3, 3), 2)
        assert run("messages", "tx_tz").rows_in == 0  # the new zone is now the recorded one
    finally:  # the next tests see the configured tenants again, not tx_tz's file
        monkeypatch.undo()
        reload_settings()


def test_heatmap_is_the_current_window_and_every_application():
    """A newer response replaces the cells of an older window (not only those it reports), and two
    applications' latest responses are averaged per cell (not 'the last loaded wins')."""
    t = "tx_heat"

    def heat(grid: dict) -> dict:
        return envelope({"heatmap": "general", "hour": {}, "weekday": {}, "weekday-hour": grid})

    ep = "/v1/application/{id}/pushHeatmap"
    insert_raw(
        t, "raw_push_stats", ep, heat({"monday": {"8": 0.02, "9": 0.04}}), "2026-03-01T00:00:00Z", app="A"
    )
    run("toques_heatmap", t)
    assert {(r["dia_semana"], r["hora"]) for r in rows_of(t, "SELECT * FROM public.toques_heatmap")} == {
        ("monday", 8), ("monday", 9)}  # fmt: skip
    # a newer window of A reports only 08:00; B (another application) reports 08:00 and 10:00
    insert_raw(t, "raw_push_stats", ep, heat({"monday": {"8": 0.06}}), "2026-03-08T00:00:00Z", app="A")
    insert_raw(
        t, "raw_push_stats", ep, heat({"monday": {"8": 0.02, "10": 0.01}}), "2026-03-07T00:00:00Z", app="B"
    )
    run("toques_heatmap", t)
    hm = {(r["dia_semana"], r["hora"]): r["ctr"] for r in rows_of(t, "SELECT * FROM public.toques_heatmap")}
    assert hm == {("monday", 8): Decimal("4.00"), ("monday", 10): Decimal("1.00")}  # 09:00 was A's old window
