"""Benchmark of the `messages` transform at 1,000,000 history rows (a script, not a test).

    .venv/bin/python benchmarks/bench_transform.py [--rows 1000000] [--page 100000] [--keep]

On a scratch database of the embedded server (dropped at the end unless --keep):
1. builds 1M realistic history CSV rows (a simulator sample, tiled with fresh message ids and shifted
   dates) and COPYs them into raw.raw_chat_stats as 100k-row pages (the extractor's raw format);
2. times the full `messages` transform (empty target) and, in the same run, a COPY of the same typed
   rows into an identically indexed table (the floor for loading them);
3. times a transform-only pass with no new raw rows (messages alone, and every transform +
   post-transform), then one with 10,000 new rows, then a --full-refresh pass over unchanged data.
Targets: full transform <= 3x COPY; no-new-rows pass <= 1 s; 10k new rows <= 3 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TENANT = "bench"
APP = "100274"
_COLS = (
    'message_id, "timestamp", date, hour, day_of_week, send_type, direction, content_type, status, '
    "contact_name, contact_id, conversation_id, agent_id, close_reason, intent, is_fallback, message_body, "
    "is_bot, is_human, wait_time_seconds, handle_time_seconds, channel, integration, tenant_id"
)
_TS_COLS = ("messageDate", "statusAt", "scheduleAt", "agentQueuedAt", "agentAssignedAt", "agentClosedAt")


def _copy_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _shift(value: str | None, delta: timedelta) -> str | None:
    if not value:
        return value
    return (datetime.fromisoformat(value) + delta).isoformat()


def synth_rows(n: int, start_id: int, day0: str = "2025-01-06", sample_days: int = 14) -> list[dict]:
    """n history rows: a simulator sample tiled forward in time with fresh, unique message ids."""
    from lib.simulator.data import Dataset

    ds = Dataset(seed=7, tenant_id=TENANT, application_id=APP)
    d0 = datetime.fromisoformat(day0)
    sample = ds.history_rows(d0.date(), (d0 + timedelta(days=sample_days - 1)).date())
    out: list[dict] = []
    k = 0
    while len(out) < n:
        delta = timedelta(days=sample_days * k)
        for row in sample:
            if len(out) >= n:
                break
            r = dict(row)
            r["messageId"] = str(start_id + len(out))
            if k:
                for c in _TS_COLS:
                    r[c] = _shift(r[c], delta)
                if r["agentConversationId"]:
                    r["agentConversationId"] = f"{r['agentConversationId']}{k:03d}"
            out.append(r)
        k += 1
    return out


FORMAT = 1  # raw history page format (--format): 1 rows as objects, 2 the page's CSV text


def copy_pages(dsn: str, rows: list[dict], page: int) -> float:
    """COPY rows into raw.raw_chat_stats as pages of `page` rows (format `FORMAT`); returns seconds."""
    import psycopg2

    from lib.api.history_csv import HISTORY_COLUMNS
    from lib.simulator.csvfmt import HEADER_LINE, format_line

    t0 = time.perf_counter()
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for i in range(0, len(rows), page):
            chunk = rows[i : i + page]
            doc = {
                "format": "csv",
                "header": list(HISTORY_COLUMNS),
                "rows": chunk,
                "page": i // page,
                "limit": page,
            }
            if FORMAT == 2:
                text = HEADER_LINE + "".join(format_line([r[c] for c in HISTORY_COLUMNS]) for r in chunk)
                doc = {"format": "csv", "version": 2, "header": list(HISTORY_COLUMNS), "records": len(chunk),
                       "text": text, "page": i // page, "limit": page}  # fmt: skip
            line = "\t".join((APP, TENANT, "/v1/chat/history/csv", _copy_escape(json.dumps(doc)))) + "\n"
            cur.copy_expert(
                "COPY raw.raw_chat_stats (application_id, tenant_id, endpoint, source_data) FROM STDIN",
                io.StringIO(line),
            )
    conn.close()
    return time.perf_counter() - t0


def timed(label: str, fn, results: dict) -> object:
    t0 = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - t0
    print(f"{label:<58} {results[label]:8.3f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--page", type=int, default=100_000)
    p.add_argument("--new-rows", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=2, help="interleaved transform/COPY rounds (best of)")
    p.add_argument("--keep", action="store_true", help="keep the scratch database")
    p.add_argument("--format", type=int, choices=(1, 2), default=1, help="raw history page format")
    args = p.parse_args(argv)
    global FORMAT
    FORMAT = args.format
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the scratch database

    import psycopg2

    from lib.db.embedded import server_uri
    from lib.db.urls import to_dsn, with_database

    server = server_uri("postgres")
    name = f"bi_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(to_dsn(with_database(server, "postgres")))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    dsn = to_dsn(url)
    os.environ.update(
        DATABASE_URL=url, TENANT_ID=TENANT, INDIGITALL_APP_ID=APP, TENANT_TIMEZONE="America/Bogota"
    )
    os.environ.pop("TENANTS_FILE", None)
    from lib.config import reload_settings

    reload_settings()
    results: dict[str, float] = {}
    try:
        from lib.db import dispose_engines, migrate
        from lib.transform import run_all, run_transform

        migrate(url)
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT version()")
        print(cur.fetchone()[0])

        rows = timed(
            f"generate {args.rows:,} history rows (python)",
            lambda: synth_rows(args.rows, 10_000_000),
            results,
        )
        timed(
            f"COPY them into raw as {args.page:,}-row pages",
            lambda: copy_pages(dsn, rows, args.page),
            results,
        )
        cur.execute("VACUUM ANALYZE raw.raw_chat_stats")
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('raw.raw_chat_stats'))")
        print(f"raw.raw_chat_stats size: {cur.fetchone()[0]}")

        # The floor: the same typed rows COPYed into an identically indexed table. Both are measured
        # `--rounds` times, interleaved (the host may be shared), and the best of each is compared.
        cur.execute("CREATE SCHEMA IF NOT EXISTS bench")
        cur.execute("CREATE TABLE bench.messages_copy (LIKE public.messages INCLUDING ALL)")
        cur.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'bench' AND tablename = 'messages_copy'"
        )
        print(f"   indexes on the COPY table: {cur.fetchone()[0]} (same as public.messages)")
        best_tf, best_copy = float("inf"), float("inf")
        for rnd in range(1, args.rounds + 1):
            if rnd > 1:
                cur.execute("TRUNCATE public.messages, bench.messages_copy")
                cur.execute("DELETE FROM ops.transform_state WHERE entity = 'messages'")
                cur.execute("CHECKPOINT")
            res = timed(
                f"[round {rnd}] messages transform, full load (empty target)",
                lambda: run_transform("messages", tenant_id=TENANT),
                results,
            )
            assert res.ok and res.rows_out == args.rows, (res.rows_out, res.errors)
            best_tf = min(best_tf, results[f"[round {rnd}] messages transform, full load (empty target)"])
            buf = io.StringIO()
            cur.copy_expert(f"COPY (SELECT {_COLS} FROM public.messages) TO STDOUT", buf)  # noqa: S608
            buf.seek(0)
            cur.execute("CHECKPOINT")
            label = f"[round {rnd}] COPY of the same typed rows, identically indexed table"
            timed(
                label,
                lambda buf=buf: cur.copy_expert(f"COPY bench.messages_copy ({_COLS}) FROM STDIN", buf),
                results,
            )
            best_copy = min(best_copy, results[label])
        print(
            f"   best transform {best_tf:.3f} s / best COPY {best_copy:.3f} s = {best_tf / best_copy:.2f}x "
            "(target <= 3x)"
        )
        cur.execute("VACUUM ANALYZE public.messages")

        timed(
            "post-transforms after the full load (contacts, daily, agents)",
            lambda: [
                run_transform(n, tenant_id=TENANT)
                for n in ("contacts_totals", "daily_stats_totals", "agents")
            ],
            results,
        )
        timed(
            "messages transform, no new raw rows",
            lambda: run_transform("messages", tenant_id=TENANT),
            results,
        )
        timed("every transform + post-transform, no new raw rows", lambda: run_all(tenant_id=TENANT), results)

        new = synth_rows(args.new_rows, 90_000_000, day0="2027-01-04", sample_days=7)
        copy_pages(dsn, new, args.page)
        res = timed(
            f"messages transform, {args.new_rows:,} new rows",
            lambda: run_transform("messages", tenant_id=TENANT),
            results,
        )
        assert res.rows_out == args.new_rows, (res.rows_out, res.errors)
        timed(
            "post-transforms after them",
            lambda: [
                run_transform(n, tenant_id=TENANT)
                for n in ("contacts_totals", "daily_stats_totals", "agents")
            ],
            results,
        )
        new2 = synth_rows(args.new_rows, 91_000_000, day0="2027-02-01", sample_days=7)
        copy_pages(dsn, new2, args.page)
        timed(
            f"every transform + post-transform, {args.new_rows:,} new rows",
            lambda: run_all(tenant_id=TENANT),
            results,
        )
        res = timed(
            "messages --full-refresh over unchanged data",
            lambda: run_transform("messages", tenant_id=TENANT, full_refresh=True),
            results,
        )
        print(f"   rows_in={res.rows_in:,} rows_out={res.rows_out:,} (0 = no row rewritten)")
        conn.close()
        dispose_engines()
    finally:
        if not args.keep:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
