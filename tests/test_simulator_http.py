"""The simulator over real HTTP on loopback: envelopes, paging, errors and quirks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from lib.simulator import HISTORY_COLUMNS, Dataset, SimTenant, start_in_thread

KEY = "sim-test-key-0001"
APP = "100274"


@pytest.fixture(scope="module")
def sim() -> Iterator:
    with start_in_thread(port=0, seed=42, server_key=KEY) as running:
        yield running


@pytest.fixture(scope="module")
def client(sim) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"ServerKey {KEY}", "Accept": "application/json"}
    with httpx.Client(base_url=sim.url, headers=headers, timeout=10) as c:
        yield c


def _json(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"  # no charset
    return r.json()


def _csv_params(**extra: object) -> dict:
    return {
        "applicationId": APP,
        "limit": 1000,
        "page": 0,
        "dateFrom": "2026-03-02",
        "dateTo": "2026-03-08",
        **extra,
    }


def test_status_needs_no_key(sim) -> None:
    r = httpx.get(sim.url + "/v1/status")
    assert _json(r) == {"message": "OK", "statusCode": 200}


@pytest.mark.parametrize("header", [None, "ServerKey wrong-key", "ServerKey", "Bearer " + KEY])
def test_bad_key_is_401_without_echo(sim, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = httpx.get(sim.url + "/v1/chat/channel", params={"applicationId": APP}, headers=headers)
    assert _json(r, 401) == {"statusCode": 401, "message": "Access token is not valid"}
    assert KEY not in r.text


def test_any_key_when_none_configured() -> None:
    with start_in_thread(port=0) as s:
        r = httpx.get(
            s.url + "/v1/chat/topic",
            params={"applicationId": APP},
            headers={"Authorization": "ServerKey whatever"},
        )
        assert r.status_code == 200
        r = httpx.get(s.url + "/v1/chat/topic", params={"applicationId": APP})
        assert r.status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "count"),
    [
        ("/v1/application", {"limit": 10, "page": 0}, True),
        ("/v1/application/stats", {"applicationId": APP, "limit": 10, "page": 0}, True),
        (
            f"/v1/application/{APP}/dateStats",
            {"dateFrom": "2026-03-01", "dateTo": "2026-03-31", "periodicity": "daily"},
            False,
        ),
        (f"/v1/application/{APP}/pushHeatmap", {"dateFrom": "2026-03-01", "dateTo": "2026-03-31"}, False),
        (f"/v1/application/{APP}/stats/device", {"dateFrom": "2026-03-01", "dateTo": "2026-03-07"}, False),
        ("/v1/campaign", {"applicationId": APP, "limit": 10, "page": 0}, True),
        ("/v1/chat/contacts", {"applicationId": APP, "limit": 10, "page": 0}, False),
        ("/v1/chat/agent/status", {"applicationId": APP}, False),
        (
            "/v1/chat/agent/conversations",
            {
                "applicationId": APP,
                "email": "",
                "dateFrom": "2026-03-01",
                "dateTo": "2026-03-30",
                "limit": 50000,
            },
            False,
        ),
        ("/v1/chat/channel", {"applicationId": APP}, False),
        ("/v1/chat/configuration", {"applicationId": APP}, False),
        ("/v1/chat/topic", {"applicationId": APP}, False),
        ("/v1/chat/integration", {"applicationId": APP}, False),
        (
            "/v2/sms/stats/application",
            {"applicationId": APP, "dateFrom": "2026-03-01", "dateTo": "2026-03-31"},
            False,
        ),
        ("/v2/sms/campaign", {"applicationId": APP, "limit": 100, "page": 0}, True),
        ("/v2/sms/send", {"applicationId": APP, "limit": 100, "page": 0}, True),
    ],
)
def test_every_endpoint_envelope(client: httpx.Client, path: str, params: dict, count: bool) -> None:
    body = _json(client.get(path, params=params))
    assert body["statusCode"] == 200 and body["message"] == "OK"
    assert ("count" in body) is count
    assert list(body)[-1] == "data" and body["data"] not in (None, [], {})


def test_specific_shapes(client: httpx.Client) -> None:
    stats = _json(client.get("/v1/application/stats", params={"applicationId": APP, "limit": 1}))
    assert stats["count"] == 1 and "goefencing" in stats["data"][0]["campaigns"]
    assert (
        _json(client.get("/v1/chat/agent/status", params={"applicationId": APP}))["data"]["activeAgents"] > 0
    )
    sms = _json(client.get("/v2/sms/campaign", params={"applicationId": APP}))
    assert isinstance(sms["data"]["campaigns"], list) and sms["count"] == len(sms["data"]["campaigns"])
    send = _json(client.get("/v2/sms/send", params={"applicationId": APP, "limit": 7, "page": 0}))
    assert len(send["data"]["sendings"]) == 7 and send["count"] > 7
    ds = _json(
        client.get(
            f"/v1/application/{APP}/dateStats", params={"dateFrom": "2026-03-01", "dateTo": "2026-03-02"}
        )
    )["data"]
    assert [(r["statsDate"], r["platformGroup"]) for r in ds] == [
        ("2026-03-01", "android"),
        ("2026-03-01", "ios"),
        ("2026-03-01", "web"),
        ("2026-03-02", "android"),
        ("2026-03-02", "ios"),
        ("2026-03-02", "web"),
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        (
            "/v1/chat/contacts",
            {"applicationId": APP},
            400,
            "request/query must have required property 'limit'",
        ),
        (
            "/v1/chat/history/csv",
            _csv_params(limit=None),
            400,
            "request/query must have required property 'limit'",
        ),
        ("/v1/chat/history/csv", _csv_params(dateFrom="2026-02-30"), 400, "One or both dates are invalid"),
        ("/v1/chat/history/csv", _csv_params(dateFrom="03/02/2026"), 400, "One or both dates are invalid"),
        ("/v1/chat/history/csv", _csv_params(dateFrom="2026-03-09"), 400, "One or both dates are invalid"),
        ("/v1/chat/history/csv", _csv_params(dateTo="2026-03-10"), 403, "Operation forbidden, more 7 days"),
        ("/v1/chat/history/csv", _csv_params(limit=100001), 400, "request/query/limit must be <= 100000"),
        (
            f"/v1/application/{APP}/stats/device",
            {"dateFrom": "2026-03-01", "dateTo": "2026-03-09"},
            403,
            "Operation forbidden, more 7 days",
        ),
        (
            f"/v1/application/{APP}/dateStats",
            {"dateFrom": "2026-03-01", "dateTo": "2026-03-09", "periodicity": "weekly"},
            400,
            "periodicity should be equal to one of: hourly, daily",
        ),
        (
            "/v1/chat/agent/conversations",
            {"applicationId": APP, "email": "", "dateFrom": "2026-03-01", "dateTo": "2026-04-01"},
            403,
            "Operation forbidden, more 30 days",
        ),
        (
            "/v1/chat/contacts",
            {"applicationId": APP, "limit": 1001},
            400,
            "request/query/limit must be <= 1000",
        ),
        ("/v1/chat/stats", {"applicationId": APP}, 404, "Route GET:/v1/chat/stats not found"),
        ("/v1/chat/message", {}, 404, "Route GET:/v1/chat/message not found"),
        ("/v1/chat/agent", {}, 404, "Route GET:/v1/chat/agent not found"),
        ("/v1/chat/tag", {}, 404, "Route GET:/v1/chat/tag not found"),
        ("/v1/email/stats", {"applicationId": APP}, 404, "Route GET:/v1/email/stats not found"),
        ("/v2/email/stats", {"applicationId": APP}, 404, "Route GET:/v2/email/stats not found"),
        ("/v1/inApp/stats", {"applicationId": APP}, 500, "Internal server error"),
    ],
)
def test_errors(client: httpx.Client, path: str, params: dict, status: int, message: str) -> None:
    params = {k: v for k, v in params.items() if v is not None}
    assert _json(client.get(path, params=params), status) == {"statusCode": status, "message": message}


def test_unknown_route_is_404_even_without_key_and_for_post(sim) -> None:
    r = httpx.post(sim.url + "/v1/chat/history/csv", json={})
    assert _json(r, 404)["message"] == "Route POST:/v1/chat/history/csv not found"


def test_campaign_paging_ends_on_short_page(client: httpx.Client) -> None:
    seen, page = [], 0
    while True:
        body = _json(client.get("/v1/campaign", params={"applicationId": APP, "limit": 10, "page": page}))
        seen += body["data"]
        if len(body["data"]) < 10:
            break
        page += 1
    assert len(seen) == body["count"] and len({c["id"] for c in seen}) == len(seen)
    past = _json(client.get("/v1/campaign", params={"applicationId": APP, "limit": 10, "page": page + 5}))
    assert past["data"] == [] and past["count"] == len(seen)


def test_contacts_cursor_pages_and_offset_ignored(client: httpx.Client) -> None:
    base = {"applicationId": APP, "limit": 500}
    by_page, page = [], 0
    while True:
        data = _json(client.get("/v1/chat/contacts", params={**base, "page": page}))["data"]
        by_page += data
        if len(data) < 500:
            break
        page += 1
    by_cursor: list[dict] = []
    while True:
        params = {**base, "lastId": by_cursor[-1]["id"]} if by_cursor else base
        data = _json(client.get("/v1/chat/contacts", params=params))["data"]
        by_cursor += data
        if len(data) < 500:
            break
    assert by_page == by_cursor and len(by_page) == len(Dataset().contacts())
    ids = [c["id"] for c in by_cursor]
    assert ids == sorted(ids)
    assert _json(client.get("/v1/chat/contacts", params={**base, "offset": 100}))["data"] == by_page[:500]
    assert any(ord(ch) > 127 for c in by_page for ch in (c["profileName"] or ""))


def test_history_csv_pages_round_trip_utf8(client: httpx.Client) -> None:
    expected = Dataset(seed=42).history_rows("2026-03-02", "2026-03-08")
    got: list[dict] = []
    page = 0
    while True:
        r = client.get("/v1/chat/history/csv", params=_csv_params(limit=4000, page=page))
        assert r.status_code == 200 and r.headers["content-type"] == "text/csv"
        assert not r.content.startswith(b"\xef\xbb\xbf") and b"\r\n" not in r.content
        text = r.content.decode("utf-8")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        assert tuple(reader.fieldnames or ()) == HISTORY_COLUMNS
        rows = [{k: (v or None) for k, v in row.items()} for row in reader]
        got += rows
        if len(rows) < 4000:
            break
        page += 1
    assert got == expected
    latin1 = r.content.decode("latin-1")
    assert latin1 != text and "Ã" in latin1 and ("á" in text or "é" in text)


def test_history_page_past_end_is_header_only(client: httpx.Client) -> None:
    r = client.get("/v1/chat/history/csv", params=_csv_params(limit=100000, page=3))
    assert r.content == (",".join(HISTORY_COLUMNS) + "\n").encode()


def test_history_contact_filter_and_one_day_vs_week(client: httpx.Client) -> None:
    week = client.get("/v1/chat/history/csv", params=_csv_params(limit=100000)).content.decode()
    day = client.get(
        "/v1/chat/history/csv", params=_csv_params(limit=100000, dateFrom="2026-03-04", dateTo="2026-03-04")
    ).content.decode()
    day_lines = day.splitlines(keepends=True)
    assert len(day_lines) > 500 and "".join(day_lines[1:]) in week
    rows = list(csv.DictReader(io.StringIO(day, newline="")))
    cid = rows[0]["contactId"]
    one = client.get("/v1/chat/history/csv", params=_csv_params(limit=1000, contactId=cid)).content.decode()
    assert {r["contactId"] for r in csv.DictReader(io.StringIO(one, newline=""))} == {cid}


def test_agent_conversations_filters_and_agree_with_csv(client: httpx.Client) -> None:
    params = {"applicationId": APP, "dateFrom": "2026-03-03", "dateTo": "2026-03-03"}
    everyone = _json(
        client.get("/v1/chat/agent/conversations", params={**params, "email": "", "limit": 50000})
    )
    sessions = everyone["data"]
    assert sessions and "count" not in everyone
    agent = next(s for s in sessions if s["agentId"])
    mine = _json(client.get("/v1/chat/agent/conversations", params={**params, "agentId": agent["agentId"]}))
    assert mine["data"] and all(s["agentId"] == agent["agentId"] for s in mine["data"])
    by_mail = _json(client.get("/v1/chat/agent/conversations", params={**params, "email": agent["email"]}))
    assert by_mail["data"] == mine["data"]
    assert _json(client.get("/v1/chat/agent/conversations", params=params), 400)["statusCode"] == 400
    text = client.get(
        "/v1/chat/history/csv", params=_csv_params(limit=100000, dateFrom="2026-03-03", dateTo="2026-03-04")
    ).content.decode()
    rows = {r["agentConversationId"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    for s in sessions:
        row = rows[str(s["agentSessionId"])]
        assert row["agentQueuedAt"] == s["queuedAt"][:19] + "+00:00"
        assert row["agentId"] == (str(s["agentId"]) if s["agentId"] else "")


def test_same_seed_same_bytes_over_http(sim) -> None:
    params = _csv_params(limit=300, page=2)
    headers = {"Authorization": f"ServerKey {KEY}"}
    with start_in_thread(port=0, seed=42) as other, start_in_thread(port=0, seed=43) as third:
        a = httpx.get(sim.url + "/v1/chat/history/csv", params=params, headers=headers).content
        b = httpx.get(other.url + "/v1/chat/history/csv", params=params, headers=headers).content
        c = httpx.get(third.url + "/v1/chat/history/csv", params=params, headers=headers).content
    assert a == b and a != c


def test_tenants_by_key() -> None:
    tenants = [
        SimTenant("alpha", ("100274",), server_key="key-alpha-123"),
        SimTenant("beta", ("100274",), "America/Mexico_City", server_key="key-beta-456"),
    ]
    with start_in_thread(port=0, tenants=tenants) as s:

        def get(key: str) -> httpx.Response:
            return httpx.get(
                s.url + "/v1/chat/contacts",
                params={"applicationId": APP, "limit": 5},
                headers={"Authorization": f"ServerKey {key}"},
            )

        a, b = get("key-alpha-123"), get("key-beta-456")
        assert a.status_code == b.status_code == 200 and a.json() != b.json()
        assert a.json()["data"] == Dataset(tenant_id="alpha").contacts()[:5]
        assert get("key-gamma").status_code == 401


def test_sim_stats(sim, client: httpx.Client) -> None:
    before = httpx.get(sim.url + "/__sim/stats").json()
    client.get("/v1/chat/topic", params={"applicationId": APP})
    after = sim.stats()
    assert after["requests"] == before["requests"] + 1
    assert after["by_path"]["/v1/chat/topic"] >= 1 and "200" in after["by_status"]


def test_hourly_periodicity_and_dataset_accessor(sim, client: httpx.Client) -> None:
    params = {"dateFrom": "2026-03-02", "dateTo": "2026-03-02", "periodicity": "hourly"}
    rows = _json(client.get(f"/v1/application/{APP}/dateStats", params=params))["data"]
    assert len(rows) == 24 * 3 and {r["statsHour"] for r in rows} == set(range(24))
    assert rows == sim.dataset().date_stats("2026-03-02", "2026-03-02", "hourly")
    assert sim.dataset(application_id=APP) is sim.dataset()
    with pytest.raises(KeyError):
        sim.dataset(tenant_id="nobody")
