"""Batched writes: raw rows, their extraction_log rows, the sync_state and data_coverage rows, in ONE
transaction.

A batch holds whole calls only, so every call's raw row, log rows and state update commit together. A
response identical (SHA-256) to the latest stored one of the same request is not stored again: its
log row points at that raw row with `repeated = true`. A history page that differs from it in a few
lines is stored as a line delta against it (lib.extract.delta).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from psycopg2.extras import execute_values
from sqlalchemy import text

from lib.db import tenant_tx
from lib.extract.delta import MAX_DEPTH, make_delta, page_text
from lib.extract.escape import MARK
from lib.extract.model import RAW_TABLES, Outcome

_HERE = Path(__file__).parent
_RAW_INSERT = (_HERE / "raw_insert.sql").read_text(encoding="utf-8")
_LOG_INSERT = (_HERE / "log_insert.sql").read_text(encoding="utf-8")
_STATE_UPSERT = (_HERE / "sync_state_upsert.sql").read_text(encoding="utf-8")
_COVERAGE_UPSERT = (_HERE / "coverage_upsert.sql").read_text(encoding="utf-8")
_REPEAT_LOOKUP = (_HERE / "repeat_lookup.sql").read_text(encoding="utf-8")
_PAGE_DOC = (
    "SELECT jsonb_build_object('text', source_data -> 'text', 'base', source_data -> 'base', "
    "'delta', source_data -> 'delta', 'depth', source_data -> 'depth') FROM raw.{table} WHERE id = %s"
)
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")
_LAST_SWEEP = (_HERE / "last_sweep.sql").read_text(encoding="utf-8")
_READ_STATE = text(
    "SELECT entity, last_cursor, status, updated_at FROM public.sync_state WHERE entity = ANY(:e)"
)

RAW_TEMPLATE = "(%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s::jsonb, %s)"
# A v2 history page: PostgreSQL builds the document from its fields (the text is not JSON-encoded here
# nor JSON-parsed there; measured in benchmarks/bench_extract.py).
PAGE_TEMPLATE = (
    "(%s, %s, %s, %s, %s, %s, %s, jsonb_build_object('format', 'csv', 'version', 2, 'header', %s::jsonb, "
    "'records', %s::int, 'text', %s::text, 'page', %s::int, 'limit', %s::int), %s, %s::jsonb, %s)"
)
LOG_TEMPLATE = "(%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
STATE_TEMPLATE = "(%s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()))"
COVERAGE_TEMPLATE = "(%s, %s, %s, %s, %s, COALESCE(%s, now()))"


def _params_json(params: dict[str, Any]) -> str:
    return json.dumps(params, ensure_ascii=False, default=str, sort_keys=True)


def read_states(tenant_id: str, entities: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current sync_state of these entities (missing ones absent)."""
    with tenant_tx(tenant_id) as conn:
        rows = conn.execute(_READ_STATE, {"e": list(entities)}).mappings().all()
    return {r["entity"]: dict(r) for r in rows}


def last_sweeps(tenant_id: str, raw_table: str, endpoint: str, cursor_param: str) -> dict[str, datetime]:
    """Per application: when a cursor endpoint was last read from the start (no `cursor_param`)."""
    if raw_table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {raw_table!r}")
    sql = text(_LAST_SWEEP.replace("{table}", raw_table))
    with tenant_tx(tenant_id) as conn:
        rows = conn.execute(sql, {"endpoint": endpoint, "param": cursor_param}).all()
    return {str(app): at for app, at in rows}


def write_batch(
    tenant_id: str,
    run_id: str,
    outcomes: Sequence[Outcome],
    states: Sequence[dict[str, Any]],
    *,
    before_states: Callable[[], None] | None = None,
    coverage: Sequence[dict[str, Any]] = (),
) -> int:
    """Insert the raw rows and log rows of `outcomes`, upsert `states` and `coverage`; returns raw rows
    written (identical re-reads are logged, not stored: their `repeat_of` is set).

    `before_states` runs after the raw and log inserts, before the state upsert: parallel writers
    pass "wait until the previous batch committed" (raising if it failed, which rolls this one back),
    so batches commit in order and a cursor never runs ahead of the raw rows behind it.
    """
    with tenant_tx(tenant_id) as conn:
        cur = conn.connection.cursor()
        try:
            raw_ids = _insert_raw(conn, cur, tenant_id, run_id, outcomes)
            logs = _log_rows(tenant_id, run_id, outcomes, raw_ids)
            if logs:
                execute_values(cur, _LOG_INSERT, logs, template=LOG_TEMPLATE, page_size=1000)
            if before_states is not None:
                before_states()
            if states:
                rows = [
                    (s["tenant_id"], s["entity"], s["last_cursor"], s["last_sync_at"], s["records_synced"],
                     s["status"], s["last_error"], s.get("updated_at"))
                    for s in sorted(states, key=lambda s: s["entity"])  # one lock order: no deadlock
                ]  # fmt: skip
                execute_values(cur, _STATE_UPSERT, rows, template=STATE_TEMPLATE)
            if coverage:
                rows = [
                    (c["tenant_id"], c["entity"], c["complete_from"], c["complete_to"], c["loaded_through"],
                     c.get("updated_at"))
                    for c in sorted(coverage, key=lambda c: c["entity"])
                ]  # fmt: skip
                execute_values(cur, _COVERAGE_UPSERT, rows, template=COVERAGE_TEMPLATE)
        finally:
            cur.close()
    return len(raw_ids)


def write_states(tenant_id: str, states: Sequence[dict[str, Any]]) -> None:
    """Upsert sync_state rows alone (the `running` mark at the start)."""
    write_batch(tenant_id, "", [], states)


def _latest(cur, table: str, tenant_id: str, items: Sequence[Outcome]) -> dict[int, tuple[int, str | None]]:
    """id(outcome) → (raw id, response_sha256) of the latest stored response of the same request."""
    cur.execute(
        _REPEAT_LOOKUP.replace("{table}", table),
        {
            "tenant": tenant_id,
            "endpoints": [o.endpoint for o in items],
            "params": [_params_json(o.params) for o in items],
            "apps": [o.task.app_id for o in items],
        },
    )
    return {id(items[i - 1]): (raw_id, sha) for i, raw_id, sha in cur.fetchall()}


def _as_delta(cur, table: str, o: Outcome, base_id: int) -> str | None:
    """`o`'s source_data as a line delta against the stored page `base_id`, when that is much smaller."""
    page = o.page
    if page is None or page["text"].startswith(MARK):
        return None

    def fetch(raw_id: int) -> dict[str, Any]:
        cur.execute(_PAGE_DOC.replace("{table}", table), (raw_id,))
        return cur.fetchone()[0]

    head = fetch(base_id)
    depth = int(head.get("depth") or 0)
    if depth >= MAX_DEPTH or (head.get("text") is None and head.get("delta") is None):
        return None
    base = page_text(fetch, base_id)
    if base.startswith(MARK):
        return None
    delta = make_delta(base, page["text"])
    if delta is None:
        return None
    doc = {k: v for k, v in page.items() if k != "text"}
    return orjson.dumps({**doc, "base": base_id, "depth": depth + 1, "delta": delta}).decode()


def _insert_raw(conn, cur, tenant_id: str, run_id: str, outcomes: Sequence[Outcome]) -> dict[int, int]:
    """Multi-row INSERT per raw table of the responses not already stored; returns id(outcome) → raw id
    (the new row, or the one an identical response repeats: `repeat_of` set)."""
    by_table: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if o.ok:
            by_table.setdefault(o.task.spec.raw_table, []).append(o)
    raw_ids: dict[int, int] = {}
    for table, items in by_table.items():
        if table not in RAW_TABLES:  # names come from specs; checked again before formatting SQL
            raise ValueError(f"unknown raw table {table!r}")
        latest = _latest(cur, table, tenant_id, items)
        for o in items:
            raw_id, sha = latest.get(id(o), (None, None))
            if sha is not None and sha == o.sha256:
                o.repeat_of = raw_ids[id(o)] = raw_id
            elif raw_id is not None and o.page is not None:
                o.source_data = _as_delta(cur, table, o, raw_id) or o.source_data
        new = [o for o in items if o.repeat_of is None]
        if not new:
            continue
        ids = [r[0] for r in conn.execute(_NEXT_IDS, {"t": f"raw.{table}", "n": len(new)})]
        docs, pages = [], []
        for raw_id, o in zip(ids, new, strict=True):
            raw_ids[id(o)] = raw_id
            head = (
                raw_id,
                tenant_id,
                o.task.app_id,
                o.endpoint,
                o.loaded_at,
                o.task.date_from,
                o.task.date_to,
            )
            tail = (run_id, _params_json(o.params), o.sha256)
            if o.source_data is not None:
                docs.append((*head, o.source_data, *tail))
            else:
                p = o.page or {}
                fields = (orjson.dumps(p["header"]).decode(), p["records"], p["text"], p["page"], p["limit"])
                pages.append((*head, *fields, *tail))
        sql = _RAW_INSERT.replace("{table}", table)
        # Large pages: small pages of VALUES keep each statement's size bounded.
        if docs:
            execute_values(cur, sql, docs, template=RAW_TEMPLATE, page_size=50)
        if pages:
            execute_values(cur, sql, pages, template=PAGE_TEMPLATE, page_size=4)
    return raw_ids


def _log_rows(
    tenant_id: str, run_id: str, outcomes: Sequence[Outcome], raw_ids: dict[int, int]
) -> list[tuple]:
    rows: list[tuple] = []
    for o in outcomes:
        raw_id = raw_ids.get(id(o))
        for i, call in enumerate(o.calls):
            stored = i == len(o.calls) - 1 and raw_id is not None
            rows.append(
                (
                    run_id, tenant_id, o.task.app_id, call.path, call.method, _params_json(call.params),
                    call.status, call.attempt, call.duration_ms, call.bytes,
                    o.records if stored else None,
                    None if stored else (call.error or (o.error if i == len(o.calls) - 1 else None)),
                    call.started_at,
                    o.task.spec.raw_table if stored else None,
                    raw_id if stored else None,
                    o.sha256 if stored else None,
                    stored and o.repeat_of is not None,
                )
            )  # fmt: skip
        if not o.calls and o.error:  # failed before any HTTP attempt (a bug, a paging guard)
            rows.append(
                (run_id, tenant_id, o.task.app_id, o.endpoint, "GET", _params_json(o.params), None, 0, None,
                 None, None, o.error, datetime.now(UTC), None, None, None, False)
            )  # fmt: skip
    return rows
