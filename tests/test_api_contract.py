"""Contract tests: the client against the offline simulator over real HTTP, every endpoint."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lib.api import (
    HISTORY_COLUMNS,
    AuthError,
    Backoff,
    BadRequestError,
    ClientConfig,
    IndigitallClient,
    NotFoundError,
    RetryPolicy,
    ServerError,
    WindowTooLargeError,
    date_windows,
)
from lib.simulator import Dataset, FaultConfig, start_in_thread

KEY = "c0ffee00-1234-4abc-9def-000000000001"
APP = "100274"
END = date(2026, 3, 1)
START = END - timedelta(days=13)


@pytest.fixture(scope="module")
def sim():
    with start_in_thread(seed=7, server_key=KEY, scale=0.2) as running:
        yield running


@pytest.fixture
def client(sim):
    records = []
    c = IndigitallClient(sim.url, KEY, config=ClientConfig(rate_limit=None), on_call=records.append)
    c.records = records  # type: ignore[attr-defined]
    yield c
    c.close()


@pytest.fixture(scope="module")
def ds():
    return Dataset(seed=7, tenant_id="demo", timezone="America/Bogota", application_id=APP, scale=0.2)


def test_status(client):
    assert client.status().json == {"message": "OK", "statusCode": 200}


def test_applications_and_stats(client):
    apps = [a for page in client.applications(limit=1) for a in page.items]
    assert apps and all("publicKey" in a for a in apps)
    stats = list(client.application_stats(APP))
    assert stats[0].json["count"] == 1 and "campaigns" in stats[0].items[0]


def test_push_endpoints(client, ds):
    rows = client.date_stats(APP, START, END).data
    assert rows == ds.date_stats(START, END)
    assert {r["platformGroup"] for r in rows} == {"android", "ios", "web"}
    heat = client.push_heatmap(APP, START, END).data
    assert set(heat) >= {"heatmap", "hour", "weekday", "weekday-hour"}
    assert isinstance(client.device_stats(APP, START, START + timedelta(days=6)).data, list)
    with pytest.raises(WindowTooLargeError, match=r"stats/device"):
        client.device_stats(APP, START, END)


def test_campaigns_all_pages(client, ds):
    pages = list(client.campaigns(APP, limit=3))
    got = [c for p in pages for c in p.items]
    assert got == ds.campaigns()
    assert pages[-1].size < 3


def test_contacts_cursor_matches_dataset(client, ds):
    pages = list(client.contacts(APP, limit=200))
    got = [c for p in pages for c in p.items]
    assert got == ds.contacts()
    assert all("lastId" in c.params for c in [r for r in client.records][1:])


def test_history_csv_pages_equal_dataset(client, ds):
    window = (START, START + timedelta(days=6))
    expected = ds.history_rows(*window)
    assert expected, "the data set should have messages in the window"
    limit = max(1, len(expected) // 3 + 1)
    pages = list(client.history_csv(APP, *window, limit=limit))
    assert len(pages) in (3, 4)
    rows = [r for p in pages for r in p.csv.rows]
    assert rows == expected
    assert pages[0].csv.header == list(HISTORY_COLUMNS)
    with pytest.raises(WindowTooLargeError):
        next(client.history_csv(APP, START, END))


def test_agent_conversations_and_metadata(client, ds):
    windows = date_windows(START, END, 30)
    sessions = [s for w in windows for s in client.agent_conversations(APP, *w).items]
    assert sessions == ds.agent_sessions(START, END)
    assert client.agent_status(APP).data == ds.agent_status()
    for kind in ("channel", "configuration", "topic", "integration"):
        assert client.chat_metadata(APP, kind).json["statusCode"] == 200


def test_sms_endpoints(client, ds):
    assert client.sms_stats(APP, START, END).data == ds.sms_stats(START, END)
    assert [c for p in client.sms_campaigns(APP) for c in p.items] == ds.sms_campaigns()
    assert [s for p in client.sms_sends(APP) for s in p.items] == ds.sms_sendings()


def test_email_and_inapp_fail_as_upstream(client):
    fast = RetryPolicy(max_attempts=2, backoff=Backoff(base=0.01))
    with pytest.raises(NotFoundError, match="/v1/email/stats"):
        client.email_stats(APP, START, END, retry=fast)
    with pytest.raises(ServerError, match="/v1/inApp/stats"):
        client.inapp_stats(APP, START, END, retry=fast)


def test_missing_limit_is_bad_request(client):
    with pytest.raises(BadRequestError, match="limit"):
        client.request("/v1/campaign", params={"applicationId": APP})


def test_wrong_key_is_auth_error(sim):
    with IndigitallClient(sim.url, "not-the-key", config=ClientConfig(rate_limit=None)) as bad:
        with pytest.raises(AuthError, match="401") as info:
            bad.agent_status(APP)
    assert "not-the-key" not in str(info.value)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_faults_are_survived(form):
    faults = FaultConfig(rate_429=0.2, rate_5xx=0.2, drop_rate=0.2, retry_after=form, retry_after_s=1, seed=3)
    with start_in_thread(seed=7, server_key=KEY, faults=faults, scale=0.2) as sim:
        sleeps: list[float] = []
        records = []
        client = IndigitallClient(
            sim.url, KEY,
            config=ClientConfig(rate_limit=None, retry=RetryPolicy(max_attempts=5, backoff=Backoff(base=0.01))),
            sleep=sleeps.append, on_call=records.append,
        )  # fmt: skip
        with client:
            got = [c for p in client.contacts(APP, limit=50) for c in p.items]
            window = (START, START + timedelta(days=6))
            rows = [r for p in client.history_csv(APP, *window, limit=500) for r in p.csv.rows]
        expected_rows = Dataset(seed=7, tenant_id="demo", timezone="America/Bogota", application_id=APP,
                                scale=0.2).history_rows(*window)  # fmt: skip
        assert rows == expected_rows
        assert len(got) == len({c["id"] for c in got})
        statuses = {r.status for r in records}
        assert {429, 200} <= statuses and any(r.status is None for r in records)
        if form == "seconds":
            assert 1.0 in sleeps, "Retry-After: 1 must be honoured"
        else:  # an HTTP date one second ahead, truncated to the second: waits within (0, 1]
            assert any(0.0 <= s <= 1.0 for s in sleeps)
