"""Run a named `.sql` file for one tenant via `tenant_tx(tenant, "app")` (the dashboards login, RLS), with a short TTL cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import text

SQL_DIR = Path(__file__).parent
KPI_SQL_DIR = Path(__file__).resolve().parents[2] / "lib" / "analysis" / "sql"  # the one KPI source
CACHE_TTL_S = 60.0
CACHE_MAX = 512
WORK_MEM = "64MB"

_cache: OrderedDict[tuple, tuple[float, list[dict[str, Any]]]] = OrderedDict()
_cache_lock = threading.Lock()


@lru_cache(maxsize=128)
def load_sql(name: str) -> str:
    """The text of `queries/<name>.sql` (names are fixed identifiers, never user input)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad query name {name!r}")
    path = SQL_DIR / f"{name}.sql"
    return (path if path.exists() else KPI_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _freeze(params: Mapping[str, Any]) -> tuple:
    def norm(v: Any) -> Any:
        if isinstance(v, date | datetime):
            return v.isoformat()
        if isinstance(v, list | tuple):
            return tuple(norm(x) for x in v)
        return v

    return tuple(sorted((k, norm(v)) for k, v in params.items()))


def cache_clear() -> None:
    """Forget every cached result (tests, after a pipeline run)."""
    with _cache_lock:
        _cache.clear()


def fetch_all(
    tenant: str, name: str, params: Mapping[str, Any] | None = None, *, ttl: float = CACHE_TTL_S
) -> list[dict[str, Any]]:
    """Rows of query `name` for `tenant` (bound parameters only; `:tenant` is always provided)."""
    bound = {**(params or {}), "tenant": tenant}
    key = (tenant, name, _freeze(bound))
    now = time.monotonic()
    if ttl > 0:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and now - hit[0] < ttl:
                _cache.move_to_end(key)
                return hit[1]
    from lib.db import tenant_tx

    with tenant_tx(tenant, "app") as conn:
        conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))  # window sorts stay in memory
        result = conn.execute(text(load_sql(name)), bound)
        rows = [{k: _plain(v) for k, v in row.items()} for row in result.mappings()]
    if ttl > 0:
        with _cache_lock:
            _cache[key] = (now, rows)
            _cache.move_to_end(key)
            while len(_cache) > CACHE_MAX:
                _cache.popitem(last=False)
    return rows


def fetch_one(tenant: str, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The first row (or an empty dict)."""
    rows = fetch_all(tenant, name, params)
    return rows[0] if rows else {}
