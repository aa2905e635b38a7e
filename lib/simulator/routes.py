"""The simulated API's routes: auth, parameter validation, envelopes and documented quirks.

`Router.handle(method, path, query, authorization)` is pure request -> `Response` logic; the HTTP
plumbing (sockets, faults, counters) lives in `server.py`.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lib import clock
from lib.simulator.csvfmt import HEADER_LINE
from lib.simulator.data import _LRU, Dataset, as_date, json_ts

JSON_TYPE = "application/json"  # no charset, like the real API
CSV_TYPE = "text/csv"


@dataclass(frozen=True)
class SimTenant:
    """A simulated tenant; `server_key=None` means the server-wide key rule applies."""

    tenant_id: str = "demo"
    application_ids: tuple[str, ...] = ("100274",)
    timezone: str = "America/Bogota"
    server_key: str | None = field(default=None, repr=False)
    scale: float | None = None  # None -> the server's scale


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class ErrorAnswer(Exception):
    """An error answer `{"statusCode":…,"message":…}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_response(status: int, message: str) -> Response:
    return Response(status, dump({"statusCode": status, "message": message}))


def ok(data: Any, count: int | None = None) -> Response:
    body: dict[str, Any] = {"statusCode": 200, "message": "OK"}
    if count is not None:
        body["count"] = count
    body["data"] = data
    return Response(200, dump(body))


Query = dict[str, str]


def _required(q: Query, name: str) -> str:
    if name not in q:
        raise ErrorAnswer(400, f"request/query must have required property '{name}'")
    return q[name]


def _int(
    q: Query, name: str, *, required: bool = False, default: int | None = None, maximum: int | None = None
) -> int | None:
    if name not in q:
        if required:
            _required(q, name)
        return default
    try:
        value = int(q[name])
    except ValueError:
        raise ErrorAnswer(400, f"request/query/{name} must be integer") from None
    if value < 0:
        raise ErrorAnswer(400, f"request/query/{name} must be >= 0")
    if maximum is not None and value > maximum:
        raise ErrorAnswer(400, f"request/query/{name} must be <= {maximum}")
    return value


def _dates(q: Query, *, max_span: int | None = None) -> tuple[date, date]:
    _required(q, "dateFrom")
    _required(q, "dateTo")
    try:
        start, end = as_date(q["dateFrom"]), as_date(q["dateTo"])
    except ValueError:
        raise ErrorAnswer(400, "One or both dates are invalid") from None
    if start > end:
        raise ErrorAnswer(400, "One or both dates are invalid")
    if max_span is not None and (end - start).days > max_span:
        raise ErrorAnswer(403, f"Operation forbidden, more {max_span} days")
    return start, end


def _page(items: Sequence[Any], limit: int | None, page: int | None) -> list[Any]:
    if limit is None:
        return list(items)
    page = page or 0
    return list(items[page * limit : (page + 1) * limit])


Handler = Callable[["Router", Dataset, Query, dict[str, str]], Response]


class Router:
    """Maps requests to the datasets of the configured tenants."""

    def __init__(
        self, *, seed: int, scale: float, tenants: Sequence[SimTenant], server_key: str | None
    ) -> None:
        if not tenants:
            raise ValueError("at least one tenant is required")
        self.seed = seed
        self.scale = scale
        self.tenants = list(tenants)
        self._server_key = server_key
        self._datasets: dict[tuple[str, str], Dataset] = {}
        self._lock = threading.Lock()
        self._windows = _LRU(16)
        self._routes: list[tuple[re.Pattern[str], Handler]] = [(re.compile(p + "$"), h) for p, h in ROUTES]
        self.fixed_now: datetime | None = None  # set_clock(); else lib.clock.now() (BI_CLOCK_NOW)

    # -- the clock: data exist only up to now ------------------------------------------------------
    def now(self) -> datetime:
        """The simulator's now: a fixed instant (`set_clock`), else lib.clock's (BI_CLOCK_NOW or system)."""
        return self.fixed_now or clock.now()

    def clamp(self, start: date, end: date) -> tuple[date, date] | None:
        """The window cut at today (UTC); None when it starts after today."""
        today = self.now().date()
        return None if start > today else (start, min(end, today))

    # -- plumbing -----------------------------------------------------------------------------
    def dataset(self, tenant: SimTenant, application_id: str) -> Dataset:
        key = (tenant.tenant_id, application_id)
        with self._lock:
            ds = self._datasets.get(key)
            if ds is None:
                ds = Dataset(
                    self.seed, tenant.tenant_id, tenant.timezone, application_id, tenant.scale or self.scale
                )
                self._datasets[key] = ds
        return ds

    def authenticate(self, authorization: str | None, application_id: str | None) -> SimTenant:
        """The tenant this key may read, or ErrorAnswer 401 (the key is never echoed)."""
        scheme, _, key = (authorization or "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "serverkey" or not key:
            raise ErrorAnswer(401, "Access token is not valid")
        matching = [
            t
            for t in self.tenants
            if t.server_key is not None and hmac.compare_digest(t.server_key.encode(), key.encode())
        ]
        if not matching:
            server_key = self._server_key
            if server_key is None or hmac.compare_digest(server_key.encode(), key.encode()):
                matching = [t for t in self.tenants if t.server_key is None]
        if not matching:
            raise ErrorAnswer(401, "Access token is not valid")
        for t in matching:
            if application_id in t.application_ids:
                return t
        return matching[0]

    def handle(self, method: str, path: str, query: Query, authorization: str | None) -> Response:
        try:
            if method == "GET" and path == "/v1/status":
                return Response(200, dump({"message": "OK", "statusCode": 200}))
            if method != "GET":
                raise ErrorAnswer(404, f"Route {method}:{path} not found")
            found = [(m, h) for p, h in self._routes if (m := p.match(path))]
            if not found:
                raise ErrorAnswer(404, f"Route {method}:{path} not found")
            m, handler = found[0]
            params = m.groupdict()
            app_id = params.get("app") or query.get("applicationId")
            tenant = self.authenticate(authorization, app_id)
            if app_id is None and handler is not _applications:
                _required(query, "applicationId")
            app_id = app_id or (tenant.application_ids[0] if tenant.application_ids else "100274")
            return handler(self, self.dataset(tenant, app_id), query, params)
        except ErrorAnswer as exc:
            return error_response(exc.status, exc.message)

    def history_lines(self, ds: Dataset, start: date, end: date, contact_id: str | None) -> list[str]:
        until = int(self.now().timestamp() * 1000)
        until = None if until >= _day_end_ms(end) else until  # a window in the past: cacheable as is
        key = (ds.tenant_id, ds.application_id, start, end, contact_id, until)
        return self._windows.get(key, lambda: ds.history_lines(start, end, contact_id, until))


# -- handlers ---------------------------------------------------------------------------------
def _applications(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True)
    page = _int(q, "page", default=0)
    apps: list[dict[str, Any]] = []
    for t in r.tenants:
        if t.tenant_id == ds.tenant_id:
            for app in t.application_ids or (ds.application_id,):
                apps.extend(r.dataset(t, app).applications())
            break
    if not apps:
        apps = ds.applications()
    return ok(_page(apps, limit, page), count=len(apps))


def _application_stats(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True)
    page = _int(q, "page", default=0)
    return ok(_page([ds.application_stats()], limit, page), count=1)


def _day_end_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000) + 86_400_000 - 1


def _date_stats(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    periodicity = q.get("periodicity", "daily")
    if periodicity not in ("hourly", "daily"):
        raise ErrorAnswer(400, "periodicity should be equal to one of: hourly, daily")
    window = r.clamp(*_dates(q))
    return ok(ds.date_stats(*window, periodicity) if window else [])


def _push_heatmap(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    start, end = _dates(q)
    return ok(ds.push_heatmap(start, end))


def _device_stats(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    start, end = _dates(q, max_span=7)
    return ok(ds.device_stats(start, end))


def _campaigns(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True)
    page = _int(q, "page", default=0)
    items = ds.campaigns()
    return ok(_page(items, limit, page), count=len(items))


def _contacts(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True, maximum=1000)
    page = _int(q, "page", default=0)
    last_id = _int(q, "lastId")
    assert limit is not None and page is not None
    return ok(ds.contacts_page(limit, page, last_id))  # ordered by id; `offset` is ignored on purpose


def _agent_status(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    return ok(ds.agent_status())


def _history_csv(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True, maximum=100_000)
    page = _int(q, "page", default=0)
    start, end = _dates(q, max_span=7)
    assert limit is not None and page is not None
    lines = r.history_lines(ds, start, end, q.get("contactId") or None)
    body = HEADER_LINE + "".join(lines[page * limit : (page + 1) * limit])
    return Response(200, body.encode("utf-8"), CSV_TYPE)


def _agent_conversations(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    given = [k for k in ("agentId", "email", "contactId") if k in q]
    if len(given) != 1:
        raise ErrorAnswer(400, "request/query must have exactly one of 'agentId', 'email', 'contactId'")
    start, end = _dates(q, max_span=30)
    limit = _int(q, "limit")
    page = _int(q, "page", default=0)
    items = ds.agent_sessions(start, end, until=json_ts(int(r.now().timestamp() * 1000)))
    name, value = given[0], q[given[0]]
    if value:
        if name == "agentId":
            items = [s for s in items if str(s["agentId"]) == value]
        elif name == "email":
            items = [s for s in items if (s["email"] or "").lower() == value.lower()]
        else:
            items = [s for s in items if s["contactId"] == value]
    return ok(_page(items, limit, page))


def _simple(method: str) -> Handler:
    def handler(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
        return ok(getattr(ds, method)())

    return handler


def _sms_stats(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    start, end = _dates(q, max_span=99)
    return ok(ds.sms_stats(start, end))


def _sms_campaigns(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", maximum=1000)
    page = _int(q, "page", default=0)
    items = ds.sms_campaigns()
    return ok({"campaigns": _page(items, limit, page)}, count=len(items))


def _sms_sendings(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    limit = _int(q, "limit", required=True, maximum=1000)
    page = _int(q, "page", default=0)
    items = ds.sms_sendings()
    return ok({"sendings": _page(items, limit, page)}, count=len(items))


def _inapp_stats(r: Router, ds: Dataset, q: Query, p: dict[str, str]) -> Response:
    raise ErrorAnswer(500, "Internal server error")


_APP = r"/v1/application/(?P<app>[^/]+)"
ROUTES: list[tuple[str, Handler]] = [
    ("/v1/application", _applications),
    ("/v1/application/stats", _application_stats),
    (_APP + "/dateStats", _date_stats),
    (_APP + "/pushHeatmap", _push_heatmap),
    (_APP + "/stats/device", _device_stats),
    ("/v1/campaign", _campaigns),
    ("/v1/chat/contacts", _contacts),
    ("/v1/chat/agent/status", _agent_status),
    ("/v1/chat/history/csv", _history_csv),
    ("/v1/chat/agent/conversations", _agent_conversations),
    ("/v1/chat/channel", _simple("channels")),
    ("/v1/chat/configuration", _simple("configuration")),
    ("/v1/chat/topic", _simple("topics")),
    ("/v1/chat/integration", _simple("integrations")),
    ("/v2/sms/stats/application", _sms_stats),
    ("/v2/sms/campaign", _sms_campaigns),
    ("/v2/sms/send", _sms_sendings),
    ("/v1/inApp/stats", _inapp_stats),
]
