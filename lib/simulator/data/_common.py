"""Seeds, helpers and the dimensions every domain of the simulated tenant shares."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from lib.simulator import texts

DateLike = date | str
_EPOCH = date(2020, 1, 1)
PLATFORMS = ("android", "ios", "web")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HEATMAP_HOURS = tuple(str(h) for h in range(8, 23))

# Mean history rows per local day (Mon..Sun) at scale 1: ~1,440 a day on average.
_DAY_ROWS = (1650, 1650, 1650, 1650, 1650, 1000, 750)
# Conversation starts per local hour: peaks 10-11h and 14-16h local (15-16h, 19-21h UTC in Bogota).
_HOUR_WEIGHTS = (
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.3,
    0.8,
    2.0,
    3.5,
    4.5,
    6.5,
    6.5,
    4.5,
    4.0,
    6.0,
    6.5,
    6.0,
    4.5,
    3.5,
    3.0,
    2.5,
    1.8,
    1.0,
    0.5,
)
_HOUR_CUM = tuple(sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24))

P_ESCALATE = 0.30
P_FALLBACK = 0.03
P_TRANSFER = 0.10
P_ABANDONED = 0.02
P_OPEN = 0.01
P_ASSIGNED_BEFORE_QUEUED = 0.015
P_NPS = 0.45

T = TypeVar("T")


def _seed_of(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed_of(*parts))


def as_date(value: DateLike) -> date:
    """`date` or strict "YYYY-MM-DD" -> date (ValueError otherwise)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError("dates must be YYYY-MM-DD")
    return date.fromisoformat(value)


def _days(date_from: DateLike, date_to: DateLike) -> list[date]:
    start, end = as_date(date_from), as_date(date_to)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def csv_ts(ms: int | None) -> str | None:
    """Epoch ms -> CSV timestamp `2026-03-02T19:52:31+00:00` (truncated to the second)."""
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms // 1000))


def json_ts(ms: int | None) -> str | None:
    """Epoch ms -> JSON timestamp `2025-05-29T02:01:19.632Z`."""
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _strip_accents(s: str) -> str:
    table = str.maketrans("áéíóúÁÉÍÓÚñÑüÜ", "aeiouAEIOUnNuU")
    return s.translate(table)


def _j(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _LRU:
    """A tiny thread-safe LRU cache for generated days/windows."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)
        return value


@dataclass(frozen=True)
class Agent:
    agent_id: int
    name: str
    email: str


@dataclass(frozen=True)
class Contact:
    id: int
    contact_id: str
    profile_name: str | None
    channel: str
    instance_id: int
    created_ms: int
    updated_ms: int
    chat_allowed: bool
    agent_id: int | None


class DatasetBase:
    """Seed, tenant and caches of a `Dataset`, and the dimensions the domains share."""

    def __init__(
        self,
        seed: int = 42,
        tenant_id: str = "demo",
        timezone: str = "America/Bogota",
        application_id: str = "100274",
        scale: float = 1.0,
        *,
        cache_days: int = 8,
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.seed = seed
        self.tenant_id = tenant_id
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.application_id = str(application_id)
        self.scale = scale
        self._local_days = _LRU(cache_days)
        self._utc_days = _LRU(4)
        self._utc_lines = _LRU(cache_days * 2)
        # Sessions are small (~60 a day) and each UTC day needs three generated local days: keep a year.
        self._utc_sessions = _LRU(400)

    def __repr__(self) -> str:
        return (
            f"Dataset(seed={self.seed}, tenant_id={self.tenant_id!r}, timezone={self.timezone!r}, "
            f"application_id={self.application_id!r}, scale={self.scale})"
        )

    def _r(self, *parts: object) -> random.Random:
        return _rng(self.seed, self.tenant_id, self.application_id, *parts)

    @cached_property
    def intent_ids(self) -> dict[str, str]:
        rng = self._r("intents")
        names = [n for n, _ in texts.DF_INTENTS] + [texts.FALLBACK_INTENT]
        return {n: _uuid(rng) for n in names}

    @cached_property
    def agents_list(self) -> list[Agent]:
        rng = self._r("agents")
        ids = rng.sample(range(1000, 10000), 15)
        domain = _strip_accents(self.tenant_id.lower()).replace(" ", "") + ".com.co"
        out = []
        for agent_id in ids:
            first, last = rng.choice(texts.FIRST_NAMES), rng.choice(texts.LAST_NAMES)
            email = f"{_strip_accents(first).lower()}.{_strip_accents(last).lower()}{agent_id % 100}@{domain}"
            out.append(Agent(agent_id, f"{first} {last}", email))
        return out

    @cached_property
    def channel_ids(self) -> dict[str, int]:
        rng = self._r("channels")
        base = rng.randint(1000, 9000)
        return {"cloudapi": base, "webchat": base + 1}
