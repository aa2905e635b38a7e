"""The simulator's data generator (no server): determinism, shapes, volumes, coherence."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lib.simulator import HISTORY_COLUMNS, Dataset

START, END = date(2026, 1, 5), date(2026, 4, 4)  # 90 days


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(seed=42, tenant_id="demo", timezone="America/Bogota", application_id="100274")


@pytest.fixture(scope="module")
def rows90(ds: Dataset) -> list[dict[str, str | None]]:
    return ds.history_rows(START, END)


@pytest.fixture(scope="module")
def sessions90(ds: Dataset) -> list[dict]:
    return ds.agent_sessions(START, END)


def test_same_seed_same_bytes_and_other_seed_or_tenant_differs() -> None:
    a = Dataset(seed=7).history_csv("2026-03-02", "2026-03-03")
    b = Dataset(seed=7).history_csv("2026-03-02", "2026-03-03")
    assert a == b
    assert Dataset(seed=8).history_csv("2026-03-02", "2026-03-03") != a
    assert Dataset(seed=7, tenant_id="other").history_csv("2026-03-02", "2026-03-03") != a
    assert Dataset(seed=7).contacts() == Dataset(seed=7).contacts()
    assert Dataset(seed=7).campaigns() == Dataset(seed=7).campaigns()


def test_a_day_is_the_same_in_any_window() -> None:
    one = Dataset(seed=3).history_rows("2026-03-04", "2026-03-04")
    week = Dataset(seed=3).history_rows("2026-03-01", "2026-03-07")
    assert one and [r for r in week if r["messageDate"].startswith("2026-03-04")] == one
    s_one = Dataset(seed=3).agent_sessions("2026-03-04", "2026-03-04")
    s_week = Dataset(seed=3).agent_sessions("2026-03-01", "2026-03-07")
    assert s_one and [s for s in s_week if s["queuedAt"].startswith("2026-03-04")] == s_one


def test_csv_shape_and_round_trip(ds: Dataset) -> None:
    body = ds.history_csv("2026-03-02", "2026-03-03")
    assert body.startswith(",".join(HISTORY_COLUMNS) + "\n") and "\r" not in body
    assert len(HISTORY_COLUMNS) == 24
    parsed = list(csv.DictReader(io.StringIO(body, newline="")))
    expected = ds.history_rows("2026-03-02", "2026-03-03")
    assert [{k: (v or None) for k, v in r.items()} for r in parsed] == expected
    contents = [r["content"] or "" for r in expected]
    assert any("\n" in c for c in contents) and any('"' in c for c in contents)
    assert any("," in c for c in contents) and any("⏳" in c for c in contents)


def test_row_values(rows90: list[dict[str, str | None]]) -> None:
    allowed = {
        "sendType": {"input", "operator", "dialogflow", "agent_notification", "note"},
        "contentType": {"text", "quickReplyEvent", "image", "interactive", "event"},
        "status": {None, "channel_sent", "channel_delivered", "channel_read"},
        "integration": {"df", "agent"},
        "channel": {"cloudapi", "webchat"},
        "isFallback": {None, "Yes", "No"},
    }
    for col, values in allowed.items():
        assert {r[col] for r in rows90} == values, col
    ids = [r["messageId"] for r in rows90]
    assert len(set(ids)) == len(ids) and all(len(i) == 8 and i.isdigit() for i in ids)
    assert all(r["messageDate"].endswith("+00:00") and len(r["messageDate"]) == 25 for r in rows90)
    for r in rows90:
        if r["sendType"] == "input":
            assert r["status"] is None
        if r["dfIntentName"]:
            assert r["sendType"] == "input" and r["agentConversationId"] is None
        if r["integration"] == "agent":
            assert r["agentConversationId"]
        if r["channel"] == "cloudapi" and r["sendType"] != "note":
            assert r["channelExternalId"].startswith("wamid.")
        if r["agentId"]:
            assert len(r["agentId"]) == 4 and r["agentId"].isdigit()
    events = [r for r in rows90 if r["contentType"] == "event"]
    flow = json.loads(events[0]["content"])
    assert flow["eventName"] == "FLOW_RESPONSE_EVENT"
    assert "¿La atención fue rápida?" in flow["eventParameters"]["flowResponse"]


def test_volumes_like_the_real_account(ds: Dataset, rows90: list, sessions90: list) -> None:
    assert 110_000 <= len(rows90) <= 150_000
    assert 4_500 <= len(sessions90) <= 6_500
    assert 1_000 <= len(ds.contacts()) <= 1_400
    assert len({s["agentId"] for s in sessions90 if s["agentId"]}) == 15
    tz = ZoneInfo("America/Bogota")
    per_day: Counter[date] = Counter()
    for r in rows90:
        per_day[datetime.fromisoformat(r["messageDate"]).astimezone(tz).date()] += 1
    days = [START + timedelta(days=i) for i in range(1, 89)]
    weekday = [per_day[d] for d in days if d.weekday() < 5]
    weekend = [per_day[d] for d in days if d.weekday() >= 5]
    assert 1_300 <= sum(weekday) / len(weekday) <= 2_000
    assert sum(weekend) / len(weekend) < 0.75 * sum(weekday) / len(weekday)
    utc_hours = Counter(int(r["messageDate"][11:13]) for r in rows90)
    assert {h for h, _ in utc_hours.most_common(5)} == {15, 16, 19, 20, 21}
    intents = [r for r in rows90 if r["isFallback"]]
    share = sum(r["isFallback"] == "Yes" for r in intents) / len(intents)
    assert 0.02 <= share <= 0.04
    assert all(r["dfIntentName"] == "Default Fallback Intent" for r in intents if r["isFallback"] == "Yes")


def test_sessions_agree_with_csv(rows90: list, sessions90: list) -> None:
    by_session: dict[str, list[dict]] = defaultdict(list)
    for r in rows90:
        if r["agentConversationId"]:
            by_session[r["agentConversationId"]].append(r)
    checked = 0
    for s in sessions90[100:-100]:
        rows = by_session[str(s["agentSessionId"])]
        assert rows and rows[0]["sendType"] == "agent_notification"
        for r in rows:
            assert r["integration"] == "agent" and r["contactId"] == s["contactId"]
            assert r["agentQueuedAt"] == s["queuedAt"][:19] + "+00:00"
            assert r["agentAssignedAt"] == (s["assignedAt"] and s["assignedAt"][:19] + "+00:00")
            assert r["agentClosedAt"] == (s["closedAt"] and s["closedAt"][:19] + "+00:00")
            assert r["agentId"] == (str(s["agentId"]) if s["agentId"] else None)
        checked += 1
    assert checked > 4000
    assert set(sessions90[0]) == {
        "agentSessionId",
        "conversationSessionId",
        "contactId",
        "agentId",
        "email",
        "channel",
        "queuedAt",
        "assignedAt",
        "closedAt",
        "initialAgentSession",
    }
    assert sessions90[0]["queuedAt"].endswith("Z") and len(sessions90[0]["queuedAt"]) == 24


def test_transfers_and_inconsistencies(rows90: list, sessions90: list) -> None:
    by_id = {s["agentSessionId"]: s for s in sessions90}
    transferred = [s for s in sessions90 if s["initialAgentSession"] != s["agentSessionId"]]
    assert len(transferred) > 100
    reasons = {r["agentConversationId"]: r["agentCloseReason"] for r in rows90 if r["agentConversationId"]}
    for s in transferred:
        first = by_id.get(s["initialAgentSession"])
        if first is not None:
            assert first["conversationSessionId"] == s["conversationSessionId"]
            assert reasons[str(first["agentSessionId"])] == "AGENT_TRANSFER"
    assert any(s["closedAt"] is None for s in sessions90)
    assert any(s["assignedAt"] is None and s["agentId"] is None for s in sessions90)
    assert any(s["assignedAt"] and s["assignedAt"] < s["queuedAt"] for s in sessions90)
    assert {r["sendType"] for r in rows90 if r["agentConversationId"]} >= {"operator", "note", "input"}


def test_contacts(ds: Dataset) -> None:
    contacts = ds.contacts()
    ids = [c["id"] for c in contacts]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(c["contactId"].startswith("57") and c["contactId"].isdigit() for c in contacts)
    names = [c["profileName"] or "" for c in contacts]
    assert any(ch in n for n in names for ch in "áéíóúñ") and any(ord(ch) > 0xFFFF for n in names for ch in n)
    assert set(contacts[0]) >= {
        "id",
        "contactId",
        "externalCode",
        "externalId",
        "createdAt",
        "updatedAt",
        "lastInputMessage",
        "channel",
        "language",
        "profileName",
        "instanceId",
        "chatAllowed",
        "agentId",
    }


def test_push_stats_and_heatmap(ds: Dataset) -> None:
    rows = ds.date_stats(START, END)
    assert len(rows) == 90 * 3
    assert [r["platformGroup"] for r in rows[:3]] == ["android", "ios", "web"]
    assert rows[0]["statsDate"] == "2026-01-05"
    for r in rows:
        assert r["numDevicesReceived"] <= r["numDevicesSuccess"] <= r["numDevicesSent"]
        assert r["numDevicesClicked"] <= r["numDevicesReceived"]
    assert any(r["numDevicesSent"] == 0 for r in rows) and any(r["numDevicesSent"] > 1000 for r in rows)
    hm = ds.push_heatmap(START, END)
    assert hm["heatmap"] == "general" and list(hm["hour"]) == [str(h) for h in range(8, 23)]
    assert list(hm["weekday"])[0] == "monday" and set(hm["weekday-hour"]["sunday"]) == set(hm["hour"])
    values = [v for d in hm["weekday-hour"].values() for v in d.values()]
    assert all(0 <= v <= 1 and round(v, 4) == v for v in values)


def test_campaigns_and_sms(ds: Dataset) -> None:
    camps = ds.campaigns()
    assert {c["channel"] for c in camps} == {"push", "sms", "email", "inapp"}
    sent = [c["stats"]["sent"] for c in camps]
    assert 0 in sent and any(0 < s < 100 for s in sent)
    for c in camps:
        st = c["stats"]
        assert st["delivered"] <= st["sent"] and st["clicked"] <= st["opened"] <= st["delivered"]
    sms = ds.sms_stats("2026-03-01", "2026-03-31")
    assert len(sms) == 31 and set(sms[0]) == {
        "statsDate",
        "numContactsSent",
        "numContactsClicked",
        "totalChunks",
        "cost",
    }


def test_scale_multiplies_volume() -> None:
    one = len(Dataset(seed=5).history_rows("2026-03-02", "2026-03-02"))
    three = len(Dataset(seed=5, scale=3).history_rows("2026-03-02", "2026-03-02"))
    assert 2.4 * one <= three <= 3.6 * one


def test_contacts_exist_before_their_messages() -> None:
    """createdAt is consistent with the data: ids grow with creation and nobody writes before existing."""
    ds = Dataset(seed=42, scale=0.2)
    contacts = ds.contacts()
    assert [c["createdAt"] for c in contacts] == sorted(c["createdAt"] for c in contacts)
    created = {c["contactId"]: c["createdAt"][:19] for c in contacts}
    rows = ds.history_rows("2025-01-01", "2025-02-15") + ds.history_rows("2026-03-01", "2026-03-03")
    assert len(rows) > 50_000 * 0.2
    assert all(created[r["contactId"]] <= r["messageDate"][:19] for r in rows)
    assert ds.history_rows("2024-12-01", "2024-12-02") == []  # before the first contact was created
