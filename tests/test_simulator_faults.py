"""The simulator's fault injection: 429 + Retry-After, 5xx, latency, dropped connections."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

import httpx
import pytest

from lib.simulator import FaultConfig, start_in_thread

HEADERS = {"Authorization": "ServerKey any"}


def _topic_url(i: int) -> str:
    return f"/v1/chat/topic?applicationId=100274&n={i}"


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_share_of_429_with_retry_after(form: str) -> None:
    faults = FaultConfig(rate_429=0.3, retry_after=form, retry_after_s=2, seed=1)
    with start_in_thread(port=0, faults=faults) as sim, httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        answers = [c.get(_topic_url(i)) for i in range(200)]
        limited = [r for r in answers if r.status_code == 429]
        assert 30 <= len(limited) <= 90
        assert all(r.status_code in (200, 429) for r in answers)
        value = limited[0].headers["Retry-After"]
        if form == "seconds":
            assert value == "2"
        else:
            when = email.utils.parsedate_to_datetime(value)
            assert 0 <= (when - datetime.now(UTC)).total_seconds() <= 3
        assert limited[0].json() == {"statusCode": 429, "message": "Too Many Requests"}
        assert sim.stats()["faults"]["429"] == len(limited)
        # status stays clean
        assert all(c.get("/v1/status").status_code == 200 for _ in range(20))


def test_5xx_are_not_permanent_and_repeatable() -> None:
    faults = FaultConfig(rate_5xx=1.0, seed=3, max_consecutive=2)
    with start_in_thread(port=0, faults=faults) as sim, httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        codes = [c.get(_topic_url(0)).status_code for _ in range(3)]
        assert codes[:2] != [200, 200] and set(codes[:2]) <= {500, 502, 503} and codes[2] == 200
        sim.reset_stats()
        assert [c.get(_topic_url(0)).status_code for _ in range(3)] == codes  # deterministic per seed


def test_retries_eventually_succeed() -> None:
    faults = FaultConfig(rate_429=0.2, rate_5xx=0.2, drop_rate=0.1, seed=9)
    with start_in_thread(port=0, faults=faults) as sim, httpx.Client(base_url=sim.url, headers=HEADERS) as c:
        for i in range(40):
            for _attempt in range(faults.max_consecutive + 1):
                try:
                    r = c.get(_topic_url(i))
                except httpx.TransportError:
                    continue
                if r.status_code == 200:
                    break
            else:
                pytest.fail(f"URL {i} never succeeded")


def test_dropped_connection_is_a_read_error() -> None:
    faults = FaultConfig(drop_rate=1.0, max_consecutive=1)
    with start_in_thread(port=0, faults=faults) as sim:
        url = sim.url + "/v1/chat/contacts?applicationId=100274&limit=1000"
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.get(url, headers=HEADERS)
        r = httpx.get(url, headers=HEADERS)
        assert r.status_code == 200 and len(r.json()["data"]) == 1000


def test_latency() -> None:
    with start_in_thread(port=0, faults=FaultConfig(latency_ms=120)) as sim:
        t0 = time.perf_counter()
        assert httpx.get(sim.url + _topic_url(0), headers=HEADERS).status_code == 200
        assert time.perf_counter() - t0 >= 0.12


def test_bad_config() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_429=0.7, rate_5xx=0.5)


@pytest.mark.slow  # paces each response by design: seconds of wall time
def test_bandwidth_limit_paces_each_response() -> None:
    """bandwidth_bps caps the transfer rate of a response; the body arrives whole and unchanged."""
    url = "/v1/chat/history/csv?applicationId=100274&dateFrom=2026-03-02&dateTo=2026-03-03&limit=100000"
    rate = 400_000
    with start_in_thread(port=0, faults=FaultConfig(bandwidth_bps=rate), scale=0.5) as slow, \
         start_in_thread(port=0, scale=0.5) as fast:  # fmt: skip
        bodies, elapsed = [], []
        for sim in (slow, fast):
            with httpx.Client(base_url=sim.url, headers=HEADERS) as c:
                c.get(url)  # the day is generated and cached; time the transfer
                t0 = time.perf_counter()
                r = c.get(url)
                elapsed.append(time.perf_counter() - t0)
                bodies.append(r.content)
    assert bodies[0] == bodies[1] and len(bodies[0]) > 200_000
    need = len(bodies[0]) / rate
    assert need * 0.95 <= elapsed[0] <= need * 1.5 + 0.3
    assert elapsed[1] < need / 4


def test_bad_input_bytes_in_chosen_records() -> None:
    """bad_input: NUL, bytes that are not UTF-8 and a generalized-UTF-8 surrogate in CSV contents; \\u0000,
    \\ud800 and raw FF in contact names; untypable timestamps. Other records stay byte for byte."""
    from lib.simulator import Dataset
    from lib.simulator.faults import BAD_AGENT_TIMESTAMP, bad_form

    url = "/v1/chat/history/csv?applicationId=100274&dateFrom=2026-03-02&dateTo=2026-03-04&limit=100000"
    with start_in_thread(port=0, faults=FaultConfig(bad_input=True), scale=0.2) as sim, \
         httpx.Client(base_url=sim.url, headers=HEADERS) as c:  # fmt: skip
        body = c.get(url).content
        contacts = c.get("/v1/chat/contacts?applicationId=100274&limit=1000").content
    ds = Dataset(seed=42, scale=0.2)
    rows = ds.history_rows("2026-03-02", "2026-03-04")
    forms = {r["messageId"]: bad_form("history", r["messageId"]) for r in rows}
    chosen = {m: f for m, f in forms.items() if f}
    assert set(chosen.values()) == {"nul", "invalid_utf8", "surrogate", "marker", "bad_agent_timestamp"}
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    for r in rows:
        form, content = chosen.get(r["messageId"]), (r["content"] or "").replace('"', '""').encode()
        if form == "nul":
            assert content + b"\x00 100%" in body
        elif form == "invalid_utf8":
            assert content + b"\xff\xc3(" in body
        elif form == "surrogate":
            assert content + b"\xed\xa0\x80" in body
        elif form == "bad_agent_timestamp":
            assert f"{r['messageId']},".encode() in body and BAD_AGENT_TIMESTAMP.encode() in body
    assert body.count(b"\n") == ds.history_csv("2026-03-02", "2026-03-04").count("\n")
    assert b'\\u0000"' in contacts and b'\\ud800"' in contacts and b'\xff"' in contacts
    assert b'"createdAt":"not-a-date"' in contacts
