"""Benchmark: 90 days of one tenant at real volume from the simulator, 50 ms latency per request.

Prints, per extractor and in total: wall time, HTTP requests, rows, rows/s, and the ratio to the
network bound (requests × latency ÷ concurrency). The simulator runs in its own process (so its
data generation does not share our GIL) and is warmed first (its per-window caches filled), so the
timed pass measures the client, the parsing and the database writes.

    .venv/bin/python benchmarks/bench_extract.py [--days 90] [--latency-ms 50] [--concurrency 4]
        [--rate-limit 0] [--scale 1.0] [--faults]

--faults turns on 10 % 429s (Retry-After 1 s), 5 % 5xx and 2 % connections dropped mid-body, then
checks that nothing was lost: the raw history rows, agent sessions and contacts equal what the
simulator's generator holds for the range, and every extractor ended in success.

Uses a scratch database on the embedded server (or the server of DATABASE_URL), dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = f"bench-{secrets.token_hex(8)}"
APP = "100274"

SIM_SCRIPT = """
import sys
from lib.simulator import FaultConfig, SimTenant, serve
faulty = sys.argv[5] == "1"
serve("127.0.0.1", int(sys.argv[1]), seed=42, server_key=sys.argv[2],
      faults=FaultConfig(latency_ms=int(sys.argv[3]), rate_429=0.1 * faulty, rate_5xx=0.05 * faulty,
                         drop_rate=0.02 * faulty, retry_after_s=1),
      tenants=[SimTenant("bench", ("100274",))], scale=float(sys.argv[4]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(latency_ms: int, scale: float, faults: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SIM_SCRIPT, str(port), KEY, str(latency_ms), str(scale), "1" if faults else "0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(200):
        try:
            if httpx.get(url + "/v1/status", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("simulator did not start")


def scratch_database() -> tuple[str, str]:
    """(server URL, name) of a new empty database on DATABASE_URL's server or the embedded one."""
    from lib.db.scratch import create_database

    server = os.environ.get("DATABASE_URL") or None
    name = f"bi_bench_{secrets.token_hex(4)}"
    return create_database(name, server), name


def check_nothing_lost(start, end, scale: float) -> None:
    """Raw holds exactly what the generator has for the range, and the log shows the failed attempts."""
    from sqlalchemy import text

    from lib.db import tenant_tx
    from lib.simulator import Dataset

    ds = Dataset(seed=42, tenant_id="bench", application_id=APP, scale=scale)
    expected = {
        "history rows": len(ds.history_rows(start, end)),
        "agent sessions": len(ds.agent_sessions(start, end)),
        "contacts": len(ds.contacts()),
    }
    with tenant_tx("bench") as conn:
        got = dict(
            conn.execute(
                text(
                    "SELECT 'history rows', count(DISTINCT r->>'messageId') FROM raw.raw_chat_stats, "
                    "jsonb_array_elements(source_data->'rows') r WHERE endpoint = '/v1/chat/history/csv' "
                    "UNION ALL SELECT 'agent sessions', count(DISTINCT s->>'agentSessionId') FROM raw.raw_chat_stats, "
                    "jsonb_array_elements(source_data->'data') s WHERE endpoint = '/v1/chat/agent/conversations' "
                    "UNION ALL SELECT 'contacts', count(DISTINCT c->>'id') FROM raw.raw_contacts_api, "
                    "jsonb_array_elements(source_data->'data') c"
                )
            ).all()
        )
        failed = dict(
            conn.execute(
                text(
                    "SELECT coalesce(http_status::text, 'connection'), count(*) FROM raw.extraction_log "
                    "WHERE error IS NOT NULL GROUP BY 1 ORDER BY 1"
                )
            ).all()
        )
        states = dict(conn.execute(text("SELECT status, count(*) FROM public.sync_state GROUP BY 1")).all())
    print(f"\nfaults: failed attempts logged by status {failed}; sync_state {states}")
    for item, want in expected.items():
        print(f"{item:<15} expected {want:>7}  in raw {got.get(item, 0):>7}  lost {want - got.get(item, 0)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rate-limit", type=float, default=0.0, help="requests/s per host (0 = off)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument(
        "--faults", action="store_true", help="429s, 5xx and dropped connections; check nothing is lost"
    )
    args = ap.parse_args(argv)

    from lib.db.scratch import drop_database
    from lib.db.urls import with_database

    server, dbname = scratch_database()
    proc, url = start_simulator(args.latency_ms, args.scale, args.faults)
    try:
        os.environ.update(
            DATABASE_URL=with_database(server, dbname), INDIGITALL_BASE_URL=url, INDIGITALL_SERVER_KEY=KEY,
            INDIGITALL_APP_ID=APP, TENANT_ID="bench", TENANTS_FILE=str(ROOT / ".no-tenants.yml"),
        )  # fmt: skip
        from lib.config import reload_settings

        reload_settings()
        from lib.api import ClientConfig, IndigitallClient
        from lib.db import migrate
        from lib.extract import EXTRACTORS, ExtractOptions, run_extractor

        migrate()
        end = datetime.now(UTC).date() - timedelta(days=1)
        start = end - timedelta(days=args.days - 1)
        options = ExtractOptions(concurrency=args.concurrency)
        config = ClientConfig(concurrency=args.concurrency, rate_limit=args.rate_limit or None)

        with IndigitallClient(url, KEY, config=config) as warm:  # fill the simulator's window caches
            from lib.api import HISTORY_WINDOW_DAYS, date_windows

            list(warm.map_concurrent(
                lambda w: list(warm.history_csv(APP, *w)), date_windows(start, end, HISTORY_WINDOW_DAYS),
            ))  # fmt: skip

        rows_out = []
        total_wall = 0.0
        total_req = total_rows = 0
        with IndigitallClient(url, KEY, config=config) as client:
            for name in EXTRACTORS:
                t0 = time.perf_counter()
                res = run_extractor(name, date_from=start, date_to=end, client=client, options=options)
                wall = time.perf_counter() - t0
                total_wall += wall
                total_req += res.calls
                total_rows += res.rows_in
                rows_out.append((name, wall, res.calls, res.rows_in, res.ok))
        bound = lambda n: n * args.latency_ms / 1000 / args.concurrency  # noqa: E731
        print(
            f"\n{args.days} days, latency {args.latency_ms} ms, concurrency {args.concurrency}, "
            f"rate limit {args.rate_limit or 'off'}, scale {args.scale}"
        )
        print(
            f"{'extractor':<13}{'wall s':>8}{'requests':>10}{'rows':>9}{'rows/s':>10}{'bound s':>9}{'ratio':>7}"
        )
        for name, wall, req, rows, ok in rows_out:
            b = bound(req)
            print(
                f"{name:<13}{wall:>8.2f}{req:>10}{rows:>9}{rows / wall:>10.0f}{b:>9.2f}"
                f"{(wall / b if b else float('nan')):>7.2f}{'' if ok else '  (errors)'}"
            )
        b = bound(total_req)
        print(
            f"{'TOTAL':<13}{total_wall:>8.2f}{total_req:>10}{total_rows:>9}{total_rows / total_wall:>10.0f}"
            f"{b:>9.2f}{total_wall / b:>7.2f}"
        )
        if args.faults:
            check_nothing_lost(start, end, args.scale)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        drop_database(dbname, server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
