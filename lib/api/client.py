"""`IndigitallClient`: one httpx.Client, ServerKey auth, retries, a per-host rate limit, call records."""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from lib.api import endpoints as ep
from lib.api.body import count_csv_records, parse_json_body
from lib.api.errors import (
    ApiError,
    ResponseFormatError,
    RetryExhaustedError,
    TransportError,
    error_for_status,
)
from lib.api.history_csv import HistoryCsv, parse_history_csv
from lib.api.paging import iter_cursor, iter_pages
from lib.api.ratelimit import TokenBucket, bucket_for_host
from lib.api.records import CallRecord
from lib.api.redact import ServerKeyAuth, safe_params, scrub
from lib.api.retry import RetryPolicy, TruncatedBody
from lib.api.slots import PrioritySlots

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
Expect = Literal["json", "csv", "csv-text", "bytes"]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=60.0)


@dataclass(frozen=True)
class ClientConfig:
    """Tunables: timeouts, retry policy, rate limit (requests/s per host), concurrency, page sizes."""

    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_total_wait: float = 300.0
    rate_limit: float | None = 10.0
    burst: float = 1.0
    concurrency: int = 4
    history_limit: int = 100_000
    contacts_limit: int = 1000
    page_limit: int = 100
    conversations_limit: int = 50_000
    user_agent: str = "indigitall-bi/0.1"


@dataclass
class ApiResponse:
    """One successful call: the endpoint template, params, body and the attempts it took."""

    endpoint: str
    path: str
    params: dict[str, Any]
    status: int
    content: bytes
    calls: list[CallRecord]
    csv: HistoryCsv | None = None
    records: int | None = None  # CSV records of a page kept as text (expect="csv-text")
    _json: Any = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The body as UTF-8 text (the API omits the charset; it is always UTF-8)."""
        return self.content.decode("utf-8")

    @property
    def json(self) -> Any:
        """The parsed JSON body (the whole envelope)."""
        if self._json is None:
            self._json = parse_json_body(self.content)
        return self._json

    @property
    def data(self) -> Any:
        """The envelope's `data` (None when absent)."""
        body = self.json
        return body.get("data") if isinstance(body, dict) else None

    @property
    def items(self) -> list[Any]:
        """The list inside `data` (also `data.campaigns`/`data.sendings` of v2 SMS); [] if none."""
        data = self.data
        if isinstance(data, list):
            return data
        if isinstance(data, dict):
            for value in data.values():
                if isinstance(value, list):
                    return value
        return []

    @property
    def size(self) -> int:
        """Rows on this page (CSV rows or list items)."""
        if self.csv is not None:
            return len(self.csv)
        return self.records if self.records is not None else len(self.items)


@functools.lru_cache(maxsize=4)
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads SSL_CERT_FILE / SSL_CERT_DIR itself, like httpx.Client


def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, built once per process (per SSL_CERT_FILE/SSL_CERT_DIR):
    building one loads the CA bundle (~25 ms of CPU), which every new client would otherwise repeat."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


class IndigitallClient:
    """Synchronous, thread-safe client of the Indigitall REST API.

    Every HTTP attempt is reported to `on_call(CallRecord)` (called from worker threads when
    fetching concurrently: make it thread-safe). `sleep`/`clock` are injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        server_key: SecretStr | str | None,
        *,
        config: ClientConfig | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rate_limiter: TokenBucket | None = None,
    ) -> None:
        self.config = config or ClientConfig()
        self.base_url = base_url.rstrip("/")
        key = SecretStr(server_key) if isinstance(server_key, str) else server_key
        self._key = key
        self._auth = ServerKeyAuth(key) if key is not None else None
        self.on_call = on_call
        self._sleep = sleep
        self._clock = clock
        host = urlsplit(self.base_url).netloc
        if rate_limiter is not None:
            self._limiter: TokenBucket | None = rate_limiter
        elif self.config.rate_limit:
            self._limiter = bucket_for_host(host, self.config.rate_limit, self.config.burst)
        else:
            self._limiter = None
        # At most `concurrency` requests in flight per client, however many threads share it (several
        # extractors at once): the slot is held for the HTTP exchange only, not for parsing or retry waits.
        self._slots = PrioritySlots(self.config.concurrency)
        pool = max(10, self.config.concurrency * 2)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self.config.timeout,
            headers={"Accept": "application/json", "User-Agent": self.config.user_agent},
            transport=transport,
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            follow_redirects=False,
            verify=shared_ssl_context(),
        )

    def __repr__(self) -> str:
        return f"IndigitallClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> IndigitallClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ core
    def request(
        self,
        endpoint: str,
        *,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        expect: Expect = "json",
        retry: RetryPolicy | None = None,
        auth: bool = True,
    ) -> ApiResponse:
        """GET `endpoint` (a path template) with retries; return the response or raise an `ApiError`."""
        policy = retry or self.config.retry
        path = ep.fill(endpoint, path_params)
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        shown = safe_params(query)
        calls: list[CallRecord] = []
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                self._limiter.acquire()
            response, exc, parsed, record = self._attempt(endpoint, path, query, shown, attempt, expect, auth)
            calls.append(record)
            if self.on_call is not None:
                self.on_call(record)
            if record.ok and parsed is not None:
                return ApiResponse(
                    endpoint=endpoint,
                    path=path,
                    params=shown,
                    status=response.status_code if response is not None else 200,
                    content=response.content if response is not None else b"",
                    calls=calls,
                    csv=parsed if isinstance(parsed, HistoryCsv) else None,
                    records=parsed if expect == "csv-text" else None,
                    _json=parsed if expect == "json" else None,
                )
            if isinstance(exc, ApiError):  # e.g. CsvFormatError: not retried
                exc.calls = calls
                exc.params = shown
                raise exc
            retryable = policy.should_retry(response, exc)
            if not retryable or attempt >= policy.max_attempts:
                raise self._final_error(endpoint, shown, response, exc, calls, attempt, retryable)
            pause = policy.wait_seconds(attempt, response, now=self._clock)
            if pause > policy.max_wait or waited + pause > self.config.max_total_wait:
                raise self._wait_error(endpoint, shown, response, exc, calls, pause, waited, policy)
            log.warning(
                "%s %s: attempt %d failed (%s); retrying in %.2fs",
                "GET",
                endpoint,
                attempt,
                record.error or record.status,
                pause,
            )
            waited += pause
            self._sleep(pause)

    def _attempt(
        self,
        endpoint: str,
        path: str,
        query: dict[str, str],
        shown: dict[str, Any],
        attempt: int,
        expect: Expect,
        auth: bool,
    ) -> tuple[httpx.Response | None, BaseException | None, Any, CallRecord]:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        response: httpx.Response | None = None
        exc: BaseException | None = None
        parsed: Any = None
        try:
            with self._slots.hold():
                response = self._http.get(path, params=query, auth=self._auth if auth else None)
            if 200 <= response.status_code < 300:
                parsed = self._parse(endpoint, response.content, expect, query.get("limit"))
        except httpx.HTTPError as e:  # transport failures: connect, read, timeout, cut body
            exc = e
        except (TruncatedBody, ApiError) as e:
            exc = e
        duration_ms = int((time.perf_counter() - t0) * 1000)
        error: str | None = None
        if exc is not None:
            error = scrub(f"{type(exc).__name__}: {exc}", self._key)[:500]
        elif response is not None and not 200 <= response.status_code < 300:
            error = _server_message(response, self._key) or response.reason_phrase
        record = CallRecord(
            method="GET",
            path=endpoint,
            params=shown,
            status=response.status_code if response is not None else None,
            attempt=attempt,
            duration_ms=duration_ms,
            bytes=len(response.content) if response is not None else 0,
            error=error,
            started_at=started,
            url_path=path,
        )
        log.debug("GET %s %s -> %s in %dms", endpoint, shown, record.status or error, duration_ms)
        return response, exc, parsed, record

    @staticmethod
    def _parse(endpoint: str, content: bytes, expect: Expect, limit: str | None = None) -> Any:
        if expect == "csv":
            return parse_history_csv(content, endpoint=endpoint)
        if expect == "csv-text":  # kept as sent; only the records are counted (the paging needs them)
            return count_csv_records(content, at_least=int(limit) if limit else None)
        if expect == "bytes":
            return content
        try:
            return parse_json_body(content)
        except ValueError as e:
            raise TruncatedBody(f"invalid JSON body ({len(content)} bytes): {e}") from None

    def _final_error(
        self,
        endpoint: str,
        params: dict[str, Any],
        response: httpx.Response | None,
        exc: BaseException | None,
        calls: list[CallRecord],
        attempts: int,
        retryable: bool,
    ) -> ApiError:
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        if response is not None and not 200 <= response.status_code < 300:
            status = response.status_code
            message = _server_message(response, self._key) or response.reason_phrase
            cls = error_for_status(status, message)
            text = f"GET {endpoint} -> {status} {message}{tried}"
            if status == 401:
                text += (
                    f" (check the ServerKey; a key used against the wrong regional host, "
                    f"here {urlsplit(self.base_url).netloc}, also answers 401)"
                )
            return cls(text, endpoint=endpoint, status=status, params=params, calls=calls)
        detail = scrub(f"{type(exc).__name__}: {exc}", self._key) if exc is not None else "unknown error"
        cls = TransportError if retryable else ResponseFormatError
        return cls(f"GET {endpoint} failed{tried}: {detail}", endpoint=endpoint, params=params, calls=calls)

    def _wait_error(
        self,
        endpoint: str,
        params: dict[str, Any],
        response: httpx.Response | None,
        exc: BaseException | None,
        calls: list[CallRecord],
        pause: float,
        waited: float,
        policy: RetryPolicy,
    ) -> ApiError:
        status = response.status_code if response is not None else None
        cls: type[ApiError] = error_for_status(status, "") if status is not None else TransportError
        if not issubclass(cls, RetryExhaustedError):
            cls = RetryExhaustedError
        what = f"{status}" if status is not None else (type(exc).__name__ if exc else "failure")
        if pause > policy.max_wait:
            text = (
                f"GET {endpoint} -> {what}: server asked to wait {pause:.0f}s (Retry-After), "
                f"more than the configured maximum of {policy.max_wait:.0f}s; giving up"
            )
        else:
            text = (
                f"GET {endpoint} -> {what}: retries would wait {waited + pause:.0f}s in total, "
                f"more than the configured maximum of {self.config.max_total_wait:.0f}s; giving up"
            )
        return cls(text, endpoint=endpoint, status=status, params=params, calls=calls)

    # ------------------------------------------------------------ concurrency
    def map_concurrent(
        self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int | None = None
    ) -> Iterator[tuple[T, R | None, BaseException | None]]:
        """Run `fn(item)` on up to `concurrency` threads; yield `(item, result, error)` as they finish.

        Errors are yielded, not raised, so one failed window never hides the others.
        """
        width = max(1, concurrency or self.config.concurrency)
        pending = list(items)
        if width == 1 or len(pending) <= 1:
            for item in pending:
                try:
                    yield item, fn(item), None
                except Exception as e:  # handed to the caller
                    yield item, None, e
            return
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="indigitall") as pool:
            todo = iter(pending)
            running: dict[Future[R], T] = {}
            for item in todo:
                running[pool.submit(fn, item)] = item
                if len(running) >= width:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = running.pop(fut)
                    err = fut.exception()
                    yield item, (None if err else fut.result()), err
                    nxt = next(todo, None)
                    if nxt is not None:
                        running[pool.submit(fn, nxt)] = nxt

    # -------------------------------------------------------------- endpoints
    def status(self) -> ApiResponse:
        """`GET /v1/status` (no key needed)."""
        return self.request(ep.STATUS, auth=False)

    def iter_paged(
        self,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        limit: int | None = None,
        path_params: dict[str, Any] | None = None,
        expect: Expect = "json",
        retry: RetryPolicy | None = None,
    ) -> Iterator[ApiResponse]:
        """Every page of a `limit`+`page` endpoint, page 0 first, until a short or empty page."""
        size = limit or self.config.page_limit

        def fetch(page: int) -> ApiResponse:
            query = {**(params or {}), "limit": size, "page": page}
            return self.request(endpoint, path_params=path_params, params=query, expect=expect, retry=retry)

        yield from iter_pages(
            fetch, limit=size, size_of=lambda r: r.size, content_of=lambda r: r.content, endpoint=endpoint
        )

    def applications(self, *, limit: int | None = None) -> Iterator[ApiResponse]:
        """`/v1/application` pages."""
        return self.iter_paged(ep.APPLICATIONS, limit=limit)

    def application_stats(self, app_id: str, *, limit: int | None = None) -> Iterator[ApiResponse]:
        """`/v1/application/stats` pages for one application."""
        return self.iter_paged(ep.APPLICATION_STATS, params={"applicationId": app_id}, limit=limit)

    def date_stats(
        self, app_id: str, date_from: date, date_to: date, periodicity: str = "daily"
    ) -> ApiResponse:
        """Push stats per date × platform (`dateStats`)."""
        params = {"dateFrom": date_from, "dateTo": date_to, "periodicity": periodicity}
        return self.request(ep.DATE_STATS, path_params={"id": app_id}, params=params)

    def push_heatmap(self, app_id: str, date_from: date, date_to: date) -> ApiResponse:
        """Push click-rate heatmap (`pushHeatmap`)."""
        params = {"dateFrom": date_from, "dateTo": date_to}
        return self.request(ep.PUSH_HEATMAP, path_params={"id": app_id}, params=params)

    def device_stats(self, app_id: str, date_from: date, date_to: date) -> ApiResponse:
        """Device stats of one ≤7-day window (`stats/device`)."""
        params = {"dateFrom": date_from, "dateTo": date_to}
        return self.request(ep.DEVICE_STATS, path_params={"id": app_id}, params=params)

    def campaigns(self, app_id: str, *, limit: int | None = None) -> Iterator[ApiResponse]:
        """`/v1/campaign` pages."""
        return self.iter_paged(ep.CAMPAIGNS, params={"applicationId": app_id}, limit=limit)

    def contacts(
        self, app_id: str, *, last_id: int | None = None, limit: int | None = None
    ) -> Iterator[ApiResponse]:
        """`/v1/chat/contacts` pages by the `lastId` cursor, starting after `last_id`."""
        size = min(1000, limit or self.config.contacts_limit)

        def fetch(cursor: int | None) -> ApiResponse:
            query: dict[str, Any] = {"applicationId": app_id, "limit": size}
            if cursor is not None:
                query["lastId"] = cursor
            return self.request(ep.CONTACTS, params=query)

        def ids_of(r: ApiResponse) -> list[int]:
            return [
                int(item["id"]) for item in r.items if isinstance(item, dict) and item.get("id") is not None
            ]

        return iter_cursor(fetch, limit=size, ids_of=ids_of, start=last_id, endpoint=ep.CONTACTS)

    def history_csv(
        self, app_id: str, date_from: date, date_to: date, *, limit: int | None = None, parse: bool = True
    ) -> Iterator[ApiResponse]:
        """Every CSV page of one ≤7-day window of `/v1/chat/history/csv`: each with `.csv` parsed, or
        (`parse=False`) kept as sent with `.records` counted."""
        size = min(100_000, limit or self.config.history_limit)
        params = {"applicationId": app_id, "dateFrom": date_from, "dateTo": date_to}
        return self.iter_paged(
            ep.HISTORY_CSV, params=params, limit=size, expect="csv" if parse else "csv-text"
        )

    def history_pages(
        self, app_id: str, date_from: date, date_to: date, *, limit: int | None = None
    ) -> Iterator[ApiResponse]:
        """`history_csv(..., parse=False)`: the pages as sent, rows not parsed."""
        return self.history_csv(app_id, date_from, date_to, limit=limit, parse=False)

    def agent_conversations(
        self, app_id: str, date_from: date, date_to: date, *, limit: int | None = None
    ) -> ApiResponse:
        """Every agent's sessions of one ≤30-day window (`email=` empty, as production does)."""
        params = {
            "applicationId": app_id,
            "email": "",
            "dateFrom": date_from,
            "dateTo": date_to,
            "limit": limit or self.config.conversations_limit,
        }
        return self.request(ep.AGENT_CONVERSATIONS, params=params)

    def agent_status(self, app_id: str) -> ApiResponse:
        """`/v1/chat/agent/status` (active agents)."""
        return self.request(ep.AGENT_STATUS, params={"applicationId": app_id})

    def chat_metadata(self, app_id: str, kind: str, *, retry: RetryPolicy | None = None) -> ApiResponse:
        """`/v1/chat/{channel|configuration|topic|integration}`."""
        return self.request(ep.CHAT_METADATA[kind], params={"applicationId": app_id}, retry=retry)

    def sms_stats(self, app_id: str, date_from: date, date_to: date) -> ApiResponse:
        """Daily SMS stats of one ≤99-day window (v2)."""
        params = {"applicationId": app_id, "dateFrom": date_from, "dateTo": date_to}
        return self.request(ep.SMS_STATS, params=params)

    def sms_campaigns(self, app_id: str, *, limit: int | None = None) -> Iterator[ApiResponse]:
        """`/v2/sms/campaign` pages (`data.campaigns`)."""
        return self.iter_paged(ep.SMS_CAMPAIGNS, params={"applicationId": app_id}, limit=limit)

    def sms_sends(self, app_id: str, *, limit: int | None = None) -> Iterator[ApiResponse]:
        """`/v2/sms/send` pages (`data.sendings`, limit ≤ 1000)."""
        return self.iter_paged(ep.SMS_SENDS, params={"applicationId": app_id}, limit=min(1000, limit or 1000))

    def email_stats(
        self, app_id: str, date_from: date, date_to: date, *, retry: RetryPolicy | None = None
    ) -> ApiResponse:
        """Email stats (no working endpoint is known upstream: expect `NotFoundError`)."""
        params = {"applicationId": app_id, "dateFrom": date_from, "dateTo": date_to}
        return self.request(ep.EMAIL_STATS, params=params, retry=retry)

    def inapp_stats(
        self, app_id: str, date_from: date, date_to: date, *, retry: RetryPolicy | None = None
    ) -> ApiResponse:
        """In-app stats (upstream answers 500: expect `ServerError`)."""
        params = {"applicationId": app_id, "dateFrom": date_from, "dateTo": date_to}
        return self.request(ep.INAPP_STATS, params=params, retry=retry)


def _param(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _server_message(response: httpx.Response, key: SecretStr | None) -> str:
    """The `message` of an error envelope (or a short body excerpt), secrets scrubbed."""
    try:
        body = json.loads(response.content)
        message = body.get("message") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        message = None
    if not message:
        message = response.content[:200].decode("utf-8", "replace").strip()
    return scrub(str(message), key)[:300]
