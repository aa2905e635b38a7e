"""Fault injection: 429 with Retry-After, 5xx, latency, connections dropped mid-body.

A fault is chosen per (URL, attempt number) from a seeded hash, so runs are repeatable, and a URL
never fails more than `max_consecutive` times in a row, so a retrying client always gets through.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Literal

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

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} must be within 0..1")
        if self.rate_429 + self.rate_5xx + self.drop_rate > 1.0:
            raise ValueError("FaultConfig: the fault rates add up to more than 1")
        if self.retry_after not in ("seconds", "http-date"):
            raise ValueError("FaultConfig.retry_after must be 'seconds' or 'http-date'")

    @property
    def active(self) -> bool:
        return bool(self.rate_429 or self.rate_5xx or self.drop_rate or self.latency_ms)


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
