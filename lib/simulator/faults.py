"""Fault injection: 429 with Retry-After, 5xx, latency, a bandwidth cap, connections dropped mid-body,
and bad input (bytes JSONB cannot hold, untypable values) in otherwise valid answers.

A fault is chosen per (URL, attempt number) from a seeded hash, so runs are repeatable, and a URL
never fails more than `max_consecutive` times in a row, so a retrying client always gets through.

Bad input (`bad_input=True`) changes chosen records the same way on every request (see `bad_form`):

| answer | chosen by | forms, in turn |
|---|---|---|
| history CSV | messageId % 211 < 5 (the form: that remainder) | `nul`: content + U+0000 + " 100%"; `invalid_utf8`: content + bytes FF C3 28; `surrogate`: content + ED A0 80 (U+D800 in generalized UTF-8); `marker`: U+E000 + content; `bad_agent_timestamp`: agentQueuedAt `2026-02-30T25:61:00+00:00` |
| contacts | id % 23 < 4 | `nul`: profileName + `\u0000`; `surrogate`: profileName + `\ud800`; `invalid_utf8`: profileName + byte FF; `bad_timestamp`: createdAt `not-a-date` |
| agent sessions | agentSessionId % 31 == 0 | `bad_timestamp`: queuedAt `2026-13-01T00:00:00.000Z` |
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from dataclasses import dataclass
from typing import Any, Literal

from lib.simulator.csvfmt import format_line

FaultKind = Literal["429", "5xx", "drop"]


@dataclass(frozen=True)
class FaultConfig:
    """Shares of faulty answers (0..1 each, summed <= 1) and per-request latency."""

    rate_429: float = 0.0
    retry_after: Literal["seconds", "http-date"] = "seconds"
    retry_after_s: int = 1
    rate_5xx: float = 0.0
    latency_ms: int = 0
    drop_rate: float = 0.0
    seed: int = 0
    max_consecutive: int = 2
    bandwidth_bps: int = 0  # bytes per second per response (0 = unlimited), e.g. 2_000_000
    bad_input: bool = False

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} must be within 0..1")
        if self.rate_429 + self.rate_5xx + self.drop_rate > 1.0:
            raise ValueError("FaultConfig: the fault rates add up to more than 1")
        if self.retry_after not in ("seconds", "http-date"):
            raise ValueError("FaultConfig.retry_after must be 'seconds' or 'http-date'")
        if self.bandwidth_bps < 0:
            raise ValueError("FaultConfig.bandwidth_bps must be >= 0")

    @property
    def active(self) -> bool:
        return bool(
            self.rate_429 or self.rate_5xx or self.drop_rate or self.latency_ms or self.bandwidth_bps
            or self.bad_input
        )  # fmt: skip


def _unit(seed: int, url: str, attempt: int) -> tuple[float, int]:
    digest = hashlib.blake2b(f"{seed}|{url}|{attempt}".encode(), digest_size=8).digest()
    n = int.from_bytes(digest, "big")
    return (n >> 11) / float(1 << 53), n & 0x7FF


class FaultInjector:
    """Decides, per request, whether and how it fails (thread-safe)."""

    STATUSES_5XX = (500, 502, 503)

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._attempts: dict[str, int] = {}
        self._streak: dict[str, int] = {}
        self._lock = threading.Lock()

    def decide(self, url: str) -> tuple[FaultKind | None, int]:
        """(kind, status) for this attempt at `url`; kind None means answer normally."""
        cfg = self.config
        with self._lock:
            attempt = self._attempts.get(url, 0)
            self._attempts[url] = attempt + 1
            streak = self._streak.get(url, 0)
            u, extra = _unit(cfg.seed, url, attempt)
            kind: FaultKind | None = None
            if streak < cfg.max_consecutive:
                if u < cfg.rate_429:
                    kind = "429"
                elif u < cfg.rate_429 + cfg.rate_5xx:
                    kind = "5xx"
                elif u < cfg.rate_429 + cfg.rate_5xx + cfg.drop_rate:
                    kind = "drop"
            self._streak[url] = streak + 1 if kind else 0
        if kind == "429":
            return kind, 429
        if kind == "5xx":
            return kind, self.STATUSES_5XX[extra % len(self.STATUSES_5XX)]
        if kind == "drop":
            return kind, 200
        return None, 200

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._streak.clear()


# -- bad input ---------------------------------------------------------------------------------------
HISTORY_FORMS = ("nul", "invalid_utf8", "surrogate", "marker", "bad_agent_timestamp")
CONTACT_FORMS = ("nul", "surrogate", "invalid_utf8", "bad_timestamp")
BAD_AGENT_TIMESTAMP = "2026-02-30T25:61:00+00:00"
BAD_CONTACT_TIMESTAMP = "not-a-date"
BAD_SESSION_TIMESTAMP = "2026-13-01T00:00:00.000Z"
_BAD = {"nul": "\x00 100%", "invalid_utf8": "\udcff\udcc3(", "surrogate": "\udced\udca0\udc80"}
_JSON_BAD = {"nul": b"\\u0000", "surrogate": b"\\ud800", "invalid_utf8": b"\xff"}


def bad_form(kind: Literal["history", "contacts", "sessions"], key: int | str | None) -> str | None:
    """The bad-input form given to a record (None: left as it is); see the module table."""
    try:
        n = int(key)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if kind == "history":
        return HISTORY_FORMS[n % 211] if n % 211 < len(HISTORY_FORMS) else None
    if kind == "contacts":
        return CONTACT_FORMS[n % 23] if n % 23 < len(CONTACT_FORMS) else None
    return "bad_timestamp" if n % 31 == 0 else None


def _bad_history(body: bytes) -> bytes:
    """A CSV page with the chosen records changed (bytes that are not UTF-8 kept by surrogateescape)."""
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    header = next(reader, None)
    if header is None:
        return body
    at = {name: i for i, name in enumerate(header)}
    out = [",".join(header) + "\n"]
    for values in reader:
        form = bad_form("history", values[at["messageId"]])
        content = values[at["content"]]
        if form in _BAD:
            values[at["content"]] = content + _BAD[form]
        elif form == "marker":
            values[at["content"]] = "\ue000" + content
        elif form == "bad_agent_timestamp":
            values[at["agentQueuedAt"]] = BAD_AGENT_TIMESTAMP
        out.append(format_line([v or None for v in values]))
    return "".join(out).encode("utf-8", "surrogateescape")


def _bad_json(body: bytes, kind: Literal["contacts", "sessions"]) -> bytes:
    doc = json.loads(body)
    items: list[dict[str, Any]] = doc.get("data") or []
    marks: dict[str, bytes] = {}
    for item in items:
        form = bad_form(kind, item.get("id") if kind == "contacts" else item.get("agentSessionId"))
        if form == "bad_timestamp":
            item["createdAt" if kind == "contacts" else "queuedAt"] = (
                BAD_CONTACT_TIMESTAMP if kind == "contacts" else BAD_SESSION_TIMESTAMP
            )
        elif form is not None:
            token = f"@@bad-{len(marks)}@@"
            marks[token] = _JSON_BAD[form]
            item["profileName"] = (item.get("profileName") or "") + token
    out = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    for token, raw in marks.items():
        out = out.replace(token.encode(), raw)
    return out


def corrupt(path: str, body: bytes) -> bytes:
    """The body of a successful answer with bad input in its chosen records (other paths unchanged)."""
    if path == "/v1/chat/history/csv":
        return _bad_history(body)
    if path == "/v1/chat/contacts":
        return _bad_json(body, "contacts")
    if path == "/v1/chat/agent/conversations":
        return _bad_json(body, "sessions")
    return body
