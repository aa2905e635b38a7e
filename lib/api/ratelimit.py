"""Client-side rate limit: a thread-safe token bucket per host, so the API never has to say 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` banked; `acquire()` blocks until a token is free.

    With `burst=1` successive requests are spaced exactly `1/rate` apart. Waiters reserve their
    slot under the lock and sleep outside it, so threads are served in arrival order.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token now (possibly going negative) and return how long to wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until allowed to send; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


_buckets: dict[tuple[str, float, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for_host(host: str, rate: float, burst: float = 1.0) -> TokenBucket:
    """The process-wide bucket of `host` (shared by every client with the same limits)."""
    key = (host, float(rate), float(burst))
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate, burst)
        return bucket
