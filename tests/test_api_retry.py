"""Retry, backoff, Retry-After and rate-limit behaviour of the client (httpx.MockTransport, fake sleep)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from lib.api import (
    ApiError,
    AuthError,
    Backoff,
    BadRequestError,
    ClientConfig,
    ForbiddenError,
    IndigitallClient,
    NotFoundError,
    RateLimitedError,
    RetryExhaustedError,
    RetryPolicy,
    ServerError,
    TokenBucket,
    TransportError,
    WindowTooLargeError,
    parse_retry_after,
)

OK = {"statusCode": 200, "message": "OK", "data": [{"id": 1}]}
KEY = "0b8a5a4e-1111-2222-3333-444455556666"


def make_client(
    handler, *, sleeps=None, retry=None, records=None, clock=time.time, **cfg
) -> IndigitallClient:
    config = ClientConfig(
        retry=retry or RetryPolicy(max_attempts=4, backoff=Backoff(base=0.5, rng=lambda: 0.5), max_wait=30),
        rate_limit=None,
        **cfg,
    )
    return IndigitallClient(
        "https://am1.example.test",
        KEY,
        config=config,
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
        on_call=(records.append if records is not None else None),
        clock=clock,
    )


def scripted(*outcomes):
    """A handler answering each request with the next outcome (a status, a Response or an exception)."""
    seq = list(outcomes)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = seq.pop(0) if len(seq) > 1 else seq[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        body = OK if item == 200 else {"statusCode": item, "message": f"status {item}"}
        return httpx.Response(item, json=body)

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_then_succeed(status):
    sleeps: list[float] = []
    records = []
    handler = scripted(status, status, 200)
    client = make_client(handler, sleeps=sleeps, records=records)
    resp = client.request("/v1/application", params={"limit": 1, "page": 0})
    assert resp.data == [{"id": 1}]
    assert len(handler.seen) == 3
    assert [r.attempt for r in records] == [1, 2, 3]
    assert [r.status for r in records] == [status, status, 200]
    assert records[0].error and records[-1].error is None
    assert resp.calls == records
    # equal jitter with rng=0.5: 0.75 * base * 2**(n-1)
    assert sleeps == pytest.approx([0.375, 0.75])


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "request/query must have required property 'limit'", BadRequestError),
        (401, "Access token is not valid", AuthError),
        (403, "Operation forbidden, more 7 days", WindowTooLargeError),
        (403, "Forbidden", ForbiddenError),
        (404, "Route GET:/v1/chat/stats not found", NotFoundError),
    ],
)
def test_client_errors_are_not_retried_and_typed(status, message, cls):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(status, json={"statusCode": status, "message": message})

    client = make_client(handler)
    with pytest.raises(cls) as info:
        client.request("/v1/application/{id}/stats/device", path_params={"id": "100274"})
    assert len(calls) == 1
    err = info.value
    assert err.status == status and err.endpoint == "/v1/application/{id}/stats/device"
    assert "/v1/application/{id}/stats/device" in str(err) and message in str(err)
    assert len(err.calls) == 1 and err.calls[0].status == status
    if cls is WindowTooLargeError:
        assert isinstance(err, ForbiddenError)


def test_401_message_hints_at_the_region():
    client = make_client(scripted(401))
    with pytest.raises(AuthError, match="wrong regional host"):
        client.request("/v1/campaign")


def test_exhausted_5xx_raise_server_error_naming_endpoint():
    records = []
    client = make_client(scripted(503), records=records)
    with pytest.raises(ServerError) as info:
        client.request("/v1/inApp/stats")
    assert isinstance(info.value, RetryExhaustedError)
    assert "/v1/inApp/stats" in str(info.value) and "after 4 attempts" in str(info.value)
    assert len(records) == 4 and len(info.value.calls) == 4


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
    ],
)
def test_transport_errors_are_retried(exc):
    records = []
    handler = scripted(exc, 200)
    client = make_client(handler, records=records)
    assert client.request("/v1/chat/contacts").data == [{"id": 1}]
    assert records[0].status is None and type(exc).__name__ in records[0].error
    assert records[1].status == 200


def test_transport_errors_exhausted():
    client = make_client(scripted(httpx.ConnectError("refused")))
    with pytest.raises(TransportError, match=r"/v1/chat/contacts failed after 4 attempts: ConnectError"):
        client.request("/v1/chat/contacts")


def test_truncated_json_body_is_retried():
    cut = httpx.Response(200, content=b'{"statusCode":200,"message":"OK","data":[{"id":')
    client = make_client(scripted(cut, 200))
    assert client.request("/v1/campaign").data == [{"id": 1}]


def test_retry_after_seconds_is_honoured():
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    client = make_client(scripted(limited, 200), sleeps=sleeps)
    client.request("/v1/campaign")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured():
    now = 1_760_000_000.0
    when = format_datetime(datetime.fromtimestamp(now + 12, UTC), usegmt=True)
    sleeps: list[float] = []
    limited = httpx.Response(503, headers={"Retry-After": when}, json={"message": "maintenance"})
    client = make_client(scripted(limited, 200), sleeps=sleeps, clock=lambda: now)
    client.request("/v1/campaign")
    assert sleeps == [pytest.approx(12.0)]


def test_retry_after_beyond_maximum_fails_clearly():
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "slow down"})
    client = make_client(scripted(limited), sleeps=sleeps)
    with pytest.raises(RateLimitedError) as info:
        client.request("/v1/chat/history/csv", params={"page": 0})
    text = str(info.value)
    assert "/v1/chat/history/csv" in text and "3600s" in text and "maximum of 30s" in text
    assert sleeps == []
    assert info.value.status == 429


def test_total_wait_budget():
    sleeps: list[float] = []
    client = make_client(
        scripted(500),
        sleeps=sleeps,
        max_total_wait=1.0,
        retry=RetryPolicy(max_attempts=10, backoff=Backoff(base=0.5, rng=lambda: 1.0)),
    )
    with pytest.raises(ServerError, match=r"/v1/campaign .*in total, more than the configured maximum of 1s"):
        client.request("/v1/campaign")
    assert sum(sleeps) <= 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 10 ", 10.0),
        ("1.5", 1.5),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=lambda: now) == expected


def test_retry_after_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 2e9) == 0.0


def test_backoff_grows_with_jitter_and_cap():
    hi = Backoff(base=1, factor=2, cap=8, rng=lambda: 1.0)
    lo = Backoff(base=1, factor=2, cap=8, rng=lambda: 0.0)
    assert [hi.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    assert [lo.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]
    real = Backoff(base=1)
    assert all(0.5 <= real.delay(1) <= 1.0 for _ in range(50))


def test_custom_predicate_composes():
    from lib.api import retry_any, retry_on_status

    policy = RetryPolicy(
        max_attempts=3, should_retry=retry_any(retry_on_status({418})), backoff=Backoff(rng=lambda: 0)
    )
    handler = scripted(418, 200)
    client = make_client(handler, retry=policy)
    client.request("/v1/campaign")
    assert len(handler.seen) == 2
    with pytest.raises(ServerError):
        make_client(scripted(500), retry=policy).request("/v1/campaign")


def test_token_bucket_spacing_with_fake_clock():
    now = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_rate_limit_spaces_real_requests_across_threads():
    stamps: list[float] = []
    lock = threading.Lock()

    def handler(request):
        with lock:
            stamps.append(time.monotonic())
        return httpx.Response(200, json=OK)

    bucket = TokenBucket(40)  # 25 ms apart
    client = IndigitallClient(
        "https://am1.example.test",
        KEY,
        config=ClientConfig(concurrency=4),
        transport=httpx.MockTransport(handler),
        rate_limiter=bucket,
    )
    results = list(client.map_concurrent(lambda i: client.request("/v1/campaign"), range(12)))
    assert all(err is None for _, _, err in results)
    stamps.sort()
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(stamps) == 12
    assert stamps[-1] - stamps[0] >= 11 * 0.025 * 0.9
    assert min(gaps) >= 0.025 * 0.6  # scheduler jitter tolerated, never a burst


def test_requests_in_flight_never_exceed_concurrency_across_threads():
    """Several extractors share one client: the cap holds for all their threads together."""
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handler(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json=OK)

    client = IndigitallClient(
        "https://am1.example.test", KEY, config=ClientConfig(concurrency=3, rate_limit=None),
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    threads = [
        threading.Thread(target=lambda: [client.request("/v1/campaign") for _ in range(4)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] == 3  # 8 threads wanted 8 at once; 3 were let through


def test_waiting_requests_are_served_by_priority_then_arrival():
    """The stage's large history pages (higher weight) go before small requests queued earlier."""
    from lib.api.slots import PrioritySlots, priority

    slots = PrioritySlots(1)
    order: list[str] = []
    release = threading.Event()

    def holder():
        with slots.hold():
            release.wait(5)

    def waiter(name: str, level: int):
        with priority(level), slots.hold():
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    time.sleep(0.05)
    names = [("low-1", 0), ("low-2", 0), ("high", 10), ("mid", 5), ("low-3", 0)]
    threads = []
    for name, level in names:  # queued one after another while the only slot is held
        t = threading.Thread(target=waiter, args=(name, level))
        t.start()
        threads.append(t)
        time.sleep(0.02)
    release.set()
    for t in [first, *threads]:
        t.join(5)
    assert order == ["high", "mid", "low-1", "low-2", "low-3"]


def test_map_concurrent_yields_errors_without_stopping():
    client = make_client(scripted(200))

    def work(i):
        if i == 2:
            raise ApiError("boom", endpoint="/x")
        return i * 10

    out = sorted(client.map_concurrent(work, range(5), concurrency=3), key=lambda t: t[0])
    assert [r for _, r, _ in out] == [0, 10, None, 30, 40]
    assert isinstance(out[2][2], ApiError)


def test_headers_sent():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=OK)

    make_client(handler).request("/v1/campaign", params={"applicationId": "100274", "email": ""})
    req = seen[0]
    assert req.headers["Authorization"] == f"ServerKey {KEY}"
    assert req.headers["Accept"] == "application/json"
    assert req.url.params["email"] == "" and req.url.params["applicationId"] == "100274"


def test_status_needs_no_key():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"message": "OK", "statusCode": 200})

    make_client(handler).status()
    assert "Authorization" not in seen[0].headers
