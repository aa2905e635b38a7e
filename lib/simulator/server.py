"""The simulator's HTTP server (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, loopback).

`serve(...)` blocks (used by `bi serve simulator`); `start_in_thread(...)` returns a
`RunningSimulator` for tests. `GET /__sim/stats` (no key) returns request counters.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lib.simulator.data import Dataset
from lib.simulator.faults import FaultConfig, FaultInjector, corrupt
from lib.simulator.routes import Response, Router, SimTenant, dump, error_response

log = logging.getLogger("lib.simulator")

__all__ = ["RunningSimulator", "SimTenant", "serve", "start_in_thread", "tenants_from_config"]

_5XX_MESSAGES = {500: "Internal server error", 502: "Bad Gateway", 503: "Service Unavailable"}


class _Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.bytes = 0
            self.by_path: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()

    def record(self, path: str, status: int, size: int, fault: str | None) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += size
            self.by_path[path] += 1
            self.by_status[str(status)] += 1
            if fault:
                self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "bytes": self.bytes,
                "by_path": dict(self.by_path),
                "by_status": dict(self.by_status),
                "faults": dict(self.faults),
            }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], router: Router, faults: FaultConfig | None) -> None:
        super().__init__(addr, _Handler)
        self.router = router
        self.faults = faults
        self.injector = FaultInjector(faults) if faults and faults.active else None
        self.counters = _Counters()

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client resets
        log.debug("connection error from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "indigitall-simulator"

    def version_string(self) -> str:
        return self.server_version

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # never log request lines or headers (they may carry the key)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        srv = self.server
        if path == "/__sim/stats" and method == "GET":
            self._send(Response(200, dump(srv.counters.snapshot())))
            return
        fault = None
        status_override = 0
        if srv.faults is not None and path.startswith(("/v1/", "/v2/")) and path != "/v1/status":
            if srv.faults.latency_ms:
                time.sleep(srv.faults.latency_ms / 1000)
            if srv.injector is not None:
                fault, status_override = srv.injector.decide(f"{method} {self.path}")
        if fault == "429":
            assert srv.faults is not None
            resp = error_response(429, "Too Many Requests")
            if srv.faults.retry_after == "http-date":
                retry = email.utils.formatdate(time.time() + srv.faults.retry_after_s, usegmt=True)
            else:
                retry = str(srv.faults.retry_after_s)
            resp.headers["Retry-After"] = retry
        elif fault == "5xx":
            resp = error_response(status_override, _5XX_MESSAGES[status_override])
        else:
            resp = srv.router.handle(method, path, query, self.headers.get("Authorization"))
            if srv.faults is not None and srv.faults.bad_input and resp.status == 200:
                resp.body = corrupt(path, resp.body)
        srv.counters.record(path, resp.status, len(resp.body), fault)
        if fault == "drop":
            self._send(resp, drop=True)
        else:
            self._send(resp)

    def _send(self, resp: Response, *, drop: bool = False) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        rate = self.server.faults.bandwidth_bps if self.server.faults is not None else 0
        if not drop and rate:
            self._send_throttled(resp.body, rate)
            return
        if not drop:
            self.wfile.write(resp.body)
            return
        # Headers + part of the body, then a hard reset (RST): the client sees a read error.
        self.wfile.write(resp.body[: max(1, len(resp.body) // 2)])
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _send_throttled(self, body: bytes, rate: int) -> None:
        """Write the body at no more than `rate` bytes per second (a link's bandwidth, per response)."""
        chunk = max(1024, rate // 50)  # ~20 ms of data per write
        start = time.perf_counter()
        for sent in range(0, len(body), chunk):
            self.wfile.write(body[sent : sent + chunk])
            due = start + (sent + chunk) / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)


class RunningSimulator:
    """A simulator serving in a background thread; use as a context manager or call `stop()`."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host: str = str(host)
        self.port: int = int(port)
        self.url = f"http://{self.host}:{self.port}"

    @property
    def router(self) -> Router:
        return self._server.router

    def dataset(self, tenant_id: str | None = None, application_id: str | None = None) -> Dataset:
        """The (cached) Dataset this server answers from for a tenant (default: the first) and app."""
        tenants = self.router.tenants
        matches = [t for t in tenants if tenant_id is None or t.tenant_id == tenant_id]
        if not matches:
            raise KeyError(f"unknown simulated tenant {tenant_id!r}")
        tenant = matches[0]
        app = application_id or (tenant.application_ids[0] if tenant.application_ids else "100274")
        return self.router.dataset(tenant, str(app))

    def set_clock(self, instant: datetime | None) -> None:
        """Serve data only up to `instant` (None: follow lib.clock, i.e. BI_CLOCK_NOW or the system)."""
        self._server.router.fixed_now = instant

    def stats(self) -> dict[str, Any]:
        """Request counters (same as `GET /__sim/stats`)."""
        return self._server.counters.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters and the fault attempt counters."""
        self._server.counters.reset()
        if self._server.injector is not None:
            self._server.injector.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSimulator(url={self.url!r})"


def tenants_from_config() -> list[SimTenant]:
    """Tenants of `lib.config` (tenants.yml or env); a tenant key other than the global one binds."""
    from lib.config import load_tenants

    out = []
    for t in load_tenants():
        key = None
        if t.server_key_env != "INDIGITALL_SERVER_KEY":
            secret = t.server_key()
            key = secret.get_secret_value() if secret is not None else None
        out.append(SimTenant(t.id, t.application_ids or ("100274",), t.timezone, key))
    return out


def _build(
    host: str,
    port: int,
    seed: int,
    server_key: str | None,
    faults: FaultConfig | None,
    tenants: Sequence[SimTenant] | None,
    scale: float,
) -> _Server:
    router = Router(seed=seed, scale=scale, tenants=list(tenants or [SimTenant()]), server_key=server_key)
    return _Server((host, port), router, faults)


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int = 42,
    server_key: str | None = None,
    faults: FaultConfig | None = None,
    tenants: Sequence[SimTenant] | None = None,
    scale: float = 1.0,
) -> RunningSimulator:
    """Start a simulator in a daemon thread (port 0 = ephemeral). `server_key=None` accepts any key."""
    server = _build(host, port, seed, server_key, faults, tenants, scale)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="indigitall-simulator", daemon=True
    )
    thread.start()
    return RunningSimulator(server, thread)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    seed: int = 42,
    server_key: str | None = None,
    faults: FaultConfig | None = None,
    tenants: Sequence[SimTenant] | None = None,
    scale: float = 1.0,
) -> None:
    """Serve until interrupted. Key: `server_key`, else INDIGITALL_SERVER_KEY, else any key."""
    if server_key is None:
        from lib.config import get_settings

        secret = get_settings().indigitall_server_key
        server_key = secret.get_secret_value() if secret is not None else None
    if tenants is None:
        tenants = tenants_from_config()
    server = _build(host, port, seed, server_key, faults, tenants, scale)
    bound_host, bound_port = server.server_address[:2]
    names = ", ".join(f"{t.tenant_id}({'/'.join(t.application_ids)})" for t in tenants)
    print(
        f"Indigitall simulator on http://{bound_host!s}:{bound_port} - tenants: {names}; "
        f"key: {'configured' if server_key else 'any non-empty ServerKey'}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
