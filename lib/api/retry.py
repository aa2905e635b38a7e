"""Retry rules as small composable pieces: predicates, a backoff, `Retry-After` parsing, a policy.

A predicate looks at one attempt's outcome (a response or an exception) and says "retry".
`RetryPolicy` combines a predicate, a backoff with jitter and the `Retry-After` rule.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

RetryPredicate = Callable[[httpx.Response | None, BaseException | None], bool]

RETRY_STATUSES: frozenset[int] = frozenset({429, *range(500, 600)})
# Connection refused/reset, a body cut mid-stream (RemoteProtocolError, ReadError), every timeout.
RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class TruncatedBody(Exception):
    """A 2xx body that does not parse (the connection was cut mid-body): worth another try."""


def retry_on_status(codes: Iterable[int] = RETRY_STATUSES) -> RetryPredicate:
    """Retry when the response status is one of `codes`."""
    wanted = frozenset(codes)
    return lambda response, exc: response is not None and response.status_code in wanted


def retry_on_exception(types: tuple[type[BaseException], ...] = RETRY_EXCEPTIONS) -> RetryPredicate:
    """Retry when the attempt raised one of `types`."""
    return lambda response, exc: exc is not None and isinstance(exc, types)


def retry_any(*predicates: RetryPredicate) -> RetryPredicate:
    """Retry when any predicate says so."""
    return lambda response, exc: any(p(response, exc) for p in predicates)


DEFAULT_RETRY: RetryPredicate = retry_any(
    retry_on_status(), retry_on_exception((*RETRY_EXCEPTIONS, TruncatedBody))
)

_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    match = _SECONDS.match(value)
    if match:
        return float(match.group(1))
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the step fixed, half random, capped."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        """Wait before attempt `attempt + 1` (attempt counts from 1)."""
        step = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return step / 2 + self.rng() * step / 2


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, which outcomes to retry, how long to wait; `max_wait` caps any single wait."""

    max_attempts: int = 5
    should_retry: RetryPredicate = field(default=DEFAULT_RETRY, repr=False)
    backoff: Backoff = field(default_factory=Backoff)
    respect_retry_after: bool = True
    max_wait: float = 60.0

    def wait_seconds(
        self, attempt: int, response: httpx.Response | None, now: Callable[[], float] = time.time
    ) -> float:
        """Seconds to wait after `attempt` failed: `Retry-After` when given, else the backoff.

        May exceed `max_wait`: the caller compares and gives up with a clear error.
        """
        if self.respect_retry_after and response is not None:
            asked = parse_retry_after(response.headers.get("Retry-After"), now)
            if asked is not None:
                return asked
        return self.backoff.delay(attempt)
