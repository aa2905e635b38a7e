"""Benchmark: 90 days of one tenant at real volume from the simulator, 50 ms latency per request.

One run prints, side by side:

1. **Backfill** of `--days` local days, raw format v2 (history pages kept as their text) and v1 (rows
   as objects), each on its own scratch database: wall time, requests, the ratio to the network bound
   (requests × latency ÷ concurrency), CPU used during the pass (ours, the simulator's, PostgreSQL's),
   and the measured CPU floor of each format's history pages (Python's work + PostgreSQL's JSONB
   parse, each on one core, divided by the cores).
2. **Raw bytes on disk per stored history row**, v1 vs v2 (pg_total_relation_size of the history pages'
   share), and the time of the `messages` transform over each (v2 parses by COPY).
3. **Re-extraction factor**: after a backfill and a warm-up day, 4 incremental runs a day (every 6 h of
   simulated time, the API answering only what existed at that time); raw bytes added by the day's
   runs ÷ the bytes the day's new data take stored once in raw (compressed as raw compresses). Target
   ≤ 2. The gzip size of the same data is printed for reference.
4. **Bandwidth-limited** backfill (v2): the simulator sends each response at `--bandwidth-mbps`
   (default 2 MB/s); its bound adds bytes ÷ bandwidth to every request.

The simulator runs in its own process (its data generation does not share our GIL) and is warmed
first, so a timed pass measures the client, the escaping/encoding and the database writes.

    .venv/bin/python benchmarks/bench_extract.py [--days 90] [--latency-ms 50] [--concurrency 4]
        [--rate-limit 0] [--scale 1.0] [--db-writers 2] [--sequential] [--faults]
        [--bandwidth-mbps 2] [--skip-v1] [--skip-reextract] [--skip-bandwidth]

`--sequential` runs the extractors one after another (each pays its own round trips) instead of one
stage. `--faults` adds 10 % 429s (Retry-After 1 s), 5 % 5xx and 2 % dropped bodies to the v2 pass and
checks that nothing was lost. Scratch databases live on the embedded server (or DATABASE_URL's) and
are dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.childenv import child_env  # noqa: E402

KEY = f"bench-{secrets.token_hex(8)}"
APP = "100274"
TZ = "America/Bogota"

SIM_SCRIPT = """
import os, sys
from lib.simulator import FaultConfig, SimTenant, serve
faulty = sys.argv[5] == "1"
serve("127.0.0.1", int(sys.argv[1]), seed=42, server_key=os.environ["INDIGITALL_SERVER_KEY"],
      faults=FaultConfig(latency_ms=int(sys.argv[3]), rate_429=0.1 * faulty, rate_5xx=0.05 * faulty,
                         drop_rate=0.02 * faulty, retry_after_s=1, bandwidth_bps=int(sys.argv[6])),
      tenants=[SimTenant("bench", ("100274",))], scale=float(sys.argv[4]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(
    latency_ms: int, scale: float, faults: bool = False, bandwidth_bps: int = 0
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SIM_SCRIPT, str(port), "-", str(latency_ms), str(scale), "1" if faults else "0",
         str(bandwidth_bps)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**child_env("simulator"), "INDIGITALL_SERVER_KEY": KEY},
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


def postmaster_pid() -> int | None:
    """The pid of the PostgreSQL server we write to, when it runs on this machine (else None)."""
    from sqlalchemy import text

    from lib.db import get_engine

    try:
        with get_engine("owner").connect() as conn:
            data_dir = conn.execute(text("SHOW data_directory")).scalar_one()
        return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    except Exception:  # a remote or restricted server: its CPU is not readable
        return None


def cpu_seconds(pids: set[int] | None = None, *, server: int | None = None) -> float:
    """User+system CPU seconds of these processes, or of the server `server` and its children (Linux
    /proc; other engineers' PostgreSQL servers on this machine are not counted)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if pids is not None and pid not in pids:
                continue
            if server is not None and server not in (pid, int(fields[1])):
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue
    return total


# -- databases ------------------------------------------------------------------------------------------
class Scratch:
    """A scratch database with the env pointing at it (settings reloaded); dropped by `close()`."""

    def __init__(self, server: str | None, url: str) -> None:
        from lib.config import reload_settings
        from lib.db import migrate
        from lib.db.scratch import create_database
        from lib.db.urls import with_database

        self.server = server
        self.name = f"bi_bench_{secrets.token_hex(4)}"
        create_database(self.name, server)
        target = with_database(server or _embedded(), self.name)
        if (
            server is not None and "PIPELINE_DATABASE_URL" in os.environ
        ):  # --pg15: the logins of this database
            for env in (
                "APP_DATABASE_URL",
                "ANALYST_DATABASE_URL",
                "PIPELINE_DATABASE_URL",
                "DBT_DATABASE_URL",
            ):
                os.environ[env] = with_database(os.environ[env], self.name)
        os.environ.update(
            DATABASE_URL=target, INDIGITALL_BASE_URL=url,
            INDIGITALL_SERVER_KEY=KEY, INDIGITALL_APP_ID=APP, TENANT_ID="bench", TENANT_TIMEZONE=TZ,
            TENANTS_FILE=str(ROOT / ".no-tenants.yml"),
        )  # fmt: skip
        reload_settings()
        migrate()

    def point_at(self, url: str) -> None:
        from lib.config import reload_settings

        os.environ["INDIGITALL_BASE_URL"] = url
        reload_settings()

    def close(self) -> None:
        from lib.db.scratch import drop_database

        drop_database(self.name, self.server)


def _embedded() -> str:
    from lib.db.embedded import server_uri

    return server_uri("postgres")


def raw_sizes() -> dict[str, int]:
    """pg_total_relation_size of every raw.* table (heap + TOAST + indexes)."""
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner").connect() as conn:
        rows = conn.execute(
            text("SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace WHERE n.nspname = 'raw' AND c.relkind = 'r'")
        ).all()  # fmt: skip
    return {name: int(size) for name, size in rows}


def history_share() -> tuple[int, int, int]:
    """(pages, history rows, bytes) of the history pages in raw: their stored size (TOAST compressed)
    plus their share of the table's heap/index overhead."""
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner").connect() as conn:
        pages, rows, col, all_col, total = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE endpoint = '/v1/chat/history/csv'), "
                " sum(CASE WHEN source_data ? 'records' THEN (source_data->>'records')::int "
                "          ELSE jsonb_array_length(source_data->'rows') END) "
                "     FILTER (WHERE endpoint = '/v1/chat/history/csv'), "
                " sum(pg_column_size(source_data)) FILTER (WHERE endpoint = '/v1/chat/history/csv'), "
                " sum(pg_column_size(source_data)), pg_total_relation_size('raw.raw_chat_stats') "
                "FROM raw.raw_chat_stats"
            )
        ).one()
    share = int(total * col / all_col) if all_col else 0
    return int(pages), int(rows or 0), share


# -- passes ---------------------------------------------------------------------------------------------
def warm(url: str, start: date, end: date, concurrency: int) -> None:
    """Fill the simulator's caches with the windows the extractors will ask for (ISO weeks of history,
    30-day blocks of sessions, over the UTC dates of the local days)."""
    from lib.api import CONVERSATIONS_WINDOW_DAYS, HISTORY_WINDOW_DAYS, ClientConfig, IndigitallClient
    from lib.extract.windows import aligned_windows, utc_span

    lo, hi = utc_span(start, end, ZoneInfo(TZ))
    config = ClientConfig(concurrency=concurrency, rate_limit=None)
    with IndigitallClient(url, KEY, config=config) as client:
        windows = aligned_windows(lo, hi, HISTORY_WINDOW_DAYS)
        list(client.map_concurrent(lambda w: list(client.history_pages(APP, *w)), windows))
        for window in aligned_windows(lo, hi, CONVERSATIONS_WINDOW_DAYS):
            client.agent_conversations(APP, *window)


def backfill(args, url: str, sim_pid: int, fmt: int, start: date, end: date, server: str | None) -> dict:
    """One timed extract of local days [start, end] on its own database; sizes and transform time."""
    from lib.api import ClientConfig, IndigitallClient
    from lib.extract import EXTRACTORS, ExtractOptions, run_extractor, run_extractors
    from lib.transform import run_transform

    db = Scratch(server, url)
    try:
        options = ExtractOptions(
            concurrency=args.concurrency,
            db_writers=args.db_writers,
            history_format=fmt,
            batch_max_bytes=int(args.batch_mb * 1024 * 1024),
        )
        config = ClientConfig(concurrency=args.concurrency, rate_limit=args.rate_limit or None)
        pg = postmaster_pid()
        cpu0 = (time.process_time(), cpu_seconds({sim_pid}), cpu_seconds(server=pg) if pg else 0.0)
        with IndigitallClient(url, KEY, config=config) as client:
            t0 = time.perf_counter()
            if args.sequential:
                results = {
                    n: run_extractor(n, date_from=start, date_to=end, client=client, options=options)
                    for n in EXTRACTORS
                }  # fmt: skip
            else:
                results = run_extractors(date_from=start, date_to=end, client=client, options=options)
            wall = time.perf_counter() - t0
        cpu = (
            time.process_time() - cpu0[0], cpu_seconds({sim_pid}) - cpu0[1],
            (cpu_seconds(server=pg) - cpu0[2]) if pg else float("nan"),
        )  # fmt: skip
        pages, rows, hist_bytes = history_share()
        t0 = time.perf_counter()
        tf = run_transform("messages", tenant_id="bench")
        transform_s = time.perf_counter() - t0
        if args.faults and fmt == 2:
            check_nothing_lost(start, end, args.scale)
        return {
            "fmt": fmt, "wall": wall, "cpu": cpu, "results": results, "pages": pages, "rows": rows,
            "hist_bytes": hist_bytes, "transform_s": transform_s, "transform_rows": tf.rows_out,
            "raw_total": sum(raw_sizes().values()),
        }  # fmt: skip
    finally:
        db.close()


def history_cpu_floor(url: str, start: date, end: date) -> dict[str, dict[str, float]]:
    """Per format, single-core CPU seconds over every history page of the range: ours (hash, escape,
    encode) and the PostgreSQL backend's, to build the JSONB (`parse`) and to store it in a table
    compressed like raw (`store`). v2 two ways: encoded to JSON here and parsed there, or built there
    from the text (what the extractor does)."""
    import hashlib

    import orjson
    import psycopg2

    from lib.api import HISTORY_WINDOW_DAYS, ClientConfig, IndigitallClient, date_windows, parse_history_csv
    from lib.db.urls import to_dsn
    from lib.extract.escape import storable_text

    with IndigitallClient(url, KEY, config=ClientConfig(rate_limit=None)) as client:
        bodies = [
            r.content
            for w in date_windows(start, end + timedelta(days=1), HISTORY_WINDOW_DAYS)
            for r in client.history_pages(APP, *w)
        ]
    as_json = "%s::jsonb"
    built = "jsonb_build_object('format', 'csv', 'version', 2, 'text', %s::text, 'page', 0, 'limit', 100000)"

    def v1(body: bytes) -> str:
        hashlib.sha256(body).hexdigest()
        return parse_history_csv(body).to_source_json(0, 100_000)

    def v2_json(body: bytes) -> str:
        hashlib.sha256(body).hexdigest()
        doc = {"format": "csv", "version": 2, "text": storable_text(body)[0], "page": 0, "limit": 100_000}
        return orjson.dumps(doc).decode()

    def v2_built(body: bytes) -> str:
        hashlib.sha256(body).hexdigest()
        return storable_text(body)[0]

    out: dict[str, dict[str, float]] = {}
    conn = psycopg2.connect(to_dsn(os.environ["DATABASE_URL"]))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = {cur.fetchone()[0]}
            cur.execute("CREATE TEMP TABLE floor (source_data jsonb)")
            cur.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = 'raw.raw_chat_stats'::regclass "
                        "AND attname = 'source_data'")  # fmt: skip
            if cur.fetchone()[0] == "l":
                cur.execute("ALTER TABLE floor ALTER COLUMN source_data SET COMPRESSION lz4")
            for name, encode, expr in (("v1", v1, as_json), ("v2 as JSON", v2_json, as_json),
                                       ("v2", v2_built, built)):  # fmt: skip
                t0 = time.process_time()
                docs = [encode(b) for b in bodies]
                python_s = time.process_time() - t0
                c0 = cpu_seconds(backend)
                for doc in docs:
                    cur.execute(f"SELECT {expr} IS NOT NULL", (doc,))
                c1 = cpu_seconds(backend)
                for doc in docs:
                    cur.execute(f"INSERT INTO floor VALUES ({expr})", (doc,))  # noqa: S608 - fixed expressions
                c2 = cpu_seconds(backend)
                cur.execute("TRUNCATE floor")
                out[name] = {"python_s": python_s, "parse_s": c1 - c0, "store_s": c2 - c1,
                             "mb": sum(map(len, docs)) / 1e6}  # fmt: skip
    finally:
        conn.close()
    out["csv"] = {"pages": len(bodies), "mb": sum(map(len, bodies)) / 1e6}
    return out


def check_nothing_lost(start: date, end: date, scale: float) -> None:
    """Raw holds exactly what the generator has for the range, and the log shows the failed attempts."""
    from sqlalchemy import text

    from lib.db import tenant_tx
    from lib.extract.windows import utc_span
    from lib.simulator import Dataset

    lo, hi = utc_span(start, end, ZoneInfo(TZ))
    ds = Dataset(seed=42, tenant_id="bench", application_id=APP, scale=scale)
    want_rows = len(ds.history_rows(lo, hi))
    with tenant_tx("bench") as conn:
        texts = conn.execute(
            text(
                "SELECT source_data->>'text' FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'"
            )
        ).scalars()
        ids = {row[0] for t in texts for row in list(csv.reader(io.StringIO(t, newline="")))[1:] if row}
        failed = dict(
            conn.execute(
                text("SELECT coalesce(http_status::text, 'connection'), count(*) FROM raw.extraction_log "
                     "WHERE error IS NOT NULL GROUP BY 1 ORDER BY 1")
            ).all()
        )  # fmt: skip
        states = dict(conn.execute(text("SELECT status, count(*) FROM public.sync_state GROUP BY 1")).all())
    print(f"faults: failed attempts logged by status {failed}; sync_state {states}")
    print(f"history rows expected {want_rows}, in raw {len(ids)}, lost {want_rows - len(ids)}")


# -- re-extraction --------------------------------------------------------------------------------------
class AtTime:
    """An httpx transport answering as the API would at `now`: messages and sessions from later are not
    there yet, and agent fields of sessions still open at `now` are empty (they fill in when it closes)."""

    def __init__(self) -> None:
        import httpx

        self.inner = httpx.HTTPTransport()
        self.now = datetime.now(UTC)

    def handle_request(self, request):
        import json

        import httpx

        response = self.inner.handle_request(request)
        body = response.read()
        path = request.url.path
        cut = self.now.strftime("%Y-%m-%dT%H:%M:%S")
        if path == "/v1/chat/history/csv" and response.status_code == 200:
            body = self._history(body, cut)
        elif path == "/v1/chat/agent/conversations" and response.status_code == 200:
            doc = json.loads(body)
            keep = []
            for s in doc["data"]:
                if (s["queuedAt"] or "") > cut:
                    continue
                for field in ("assignedAt", "closedAt"):
                    if (s[field] or "") > cut:
                        s[field] = None
                keep.append(s)
            doc["data"] = keep
            body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    @staticmethod
    def _history(body: bytes, cut: str) -> bytes:
        from lib.simulator.csvfmt import format_line

        reader = csv.reader(io.StringIO(body.decode(), newline=""))
        header = next(reader)
        at = {name: i for i, name in enumerate(header)}
        out = [",".join(header) + "\n"]
        for values in reader:
            if values[at["messageDate"]][:19] > cut:
                continue
            if values[at["agentClosedAt"]][:19] > cut:
                values[at["agentClosedAt"]] = values[at["agentCloseReason"]] = ""
            if values[at["agentAssignedAt"]][:19] > cut:
                values[at["agentAssignedAt"]] = ""
            out.append(format_line([v or None for v in values]))
        return "".join(out).encode()

    def close(self) -> None:
        self.inner.close()


def stored_once_bytes(day: date) -> tuple[int, int, int]:
    """(rows, bytes raw takes to store the local day's history and sessions once, gzip bytes of the same)."""
    import json

    from sqlalchemy import text

    from lib.db import get_engine
    from lib.extract.escape import storable_text
    from lib.simulator import Dataset
    from lib.simulator.csvfmt import HEADER_LINE, format_line

    tz = ZoneInfo(TZ)
    ds = Dataset(seed=42, tenant_id="bench", application_id=APP)
    rows = [
        r for r in ds.history_rows(day, day + timedelta(days=1))
        if datetime.fromisoformat(r["messageDate"]).astimezone(tz).date() == day
    ]  # fmt: skip
    page = (HEADER_LINE + "".join(format_line(list(r.values())) for r in rows)).encode()
    sessions = [
        s for s in ds.agent_sessions(day, day + timedelta(days=1))
        if datetime.fromisoformat(s["queuedAt"].replace("Z", "+00:00")).astimezone(tz).date() == day
    ]  # fmt: skip
    envelope = json.dumps({"statusCode": 200, "message": "OK", "data": sessions}, separators=(",", ":"))
    doc = json.dumps({"format": "csv", "version": 2, "text": storable_text(page)[0], "page": 0, "limit": 300})
    with get_engine("owner").begin() as conn:
        conn.execute(text("CREATE TEMP TABLE once (source_data jsonb) ON COMMIT DROP"))
        compression = conn.execute(
            text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'raw.raw_chat_stats'::regclass "
                 "AND attname = 'source_data'")
        ).scalar_one()  # fmt: skip
        if compression == "l":
            conn.execute(text("ALTER TABLE once ALTER COLUMN source_data SET COMPRESSION lz4"))
        conn.execute(
            text("INSERT INTO once VALUES (CAST(:a AS jsonb)), (CAST(:b AS jsonb))"),
            {"a": doc, "b": envelope},
        )
        stored = conn.execute(text("SELECT sum(pg_column_size(source_data)) FROM once")).scalar_one()
    return len(rows), int(stored), len(gzip.compress(page)) + len(gzip.compress(envelope.encode()))


def last_raw_id() -> int:
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner").connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM raw.raw_chat_stats")).scalar_one())


def stored_kinds(after_id: int) -> dict[str, tuple[int, int]]:
    """(responses, stored bytes) per kind of the raw_chat_stats rows after `after_id`."""
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner").connect() as conn:
        rows = conn.execute(
            text(
                "SELECT CASE WHEN endpoint <> '/v1/chat/history/csv' THEN endpoint "
                "            WHEN source_data ? 'delta' THEN 'history delta' ELSE 'history full' END, "
                "       count(*), sum(pg_column_size(source_data)) "
                "FROM raw.raw_chat_stats WHERE id > :after GROUP BY 1"
            ),
            {"after": after_id},
        ).all()
    return {k: (int(n), int(b)) for k, n, b in rows}


def reextraction(args, url: str, server: str | None) -> list[dict]:
    """A backfill at local midnight, a warm-up day, then `reextract_days` days of 4 runs each (06, 12, 18,
    24 h): per day, the raw bytes the runs added and the bytes of the day's new data stored once."""
    from lib.api import ClientConfig, IndigitallClient
    from lib.extract import ExtractOptions, run_extractors

    tz = ZoneInfo(TZ)
    first = datetime.now(tz).date() - timedelta(days=args.reextract_days + 2)
    db = Scratch(server, url)
    transport = AtTime()
    overrides = {
        k: v for k, v in (("lookback_days", args.lookback_days),) if v is not None
    }  # fmt: skip
    options = ExtractOptions(concurrency=args.concurrency, backfill_days=args.days, **overrides)
    config = ClientConfig(concurrency=args.concurrency, rate_limit=None)
    days: list[dict] = []
    try:
        with IndigitallClient(url, KEY, config=config, transport=transport) as client:

            def run(at: datetime) -> dict:
                transport.now = at
                results = run_extractors(client=client, options=options, now=at)
                bad = {n: r.errors for n, r in results.items() if r.errors and n not in ("email", "inapp")}
                assert not bad, bad
                return results

            def midnight(day: date) -> datetime:
                return datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)

            run(midnight(first - timedelta(days=1)))  # the backfill
            for h in (6, 12, 18, 24):  # a warm-up day: the lookback moves to day windows
                run(midnight(first - timedelta(days=1)) + timedelta(hours=h))
            for i in range(args.reextract_days):
                day = first + timedelta(days=i)
                before, first_id = raw_sizes(), last_raw_id()
                calls = stored = repeated = 0
                for h in (6, 12, 18, 24):
                    res = run(midnight(day) + timedelta(hours=h))
                    calls += sum(r.calls for r in res.values())
                    for r in res.values():
                        for e in r.metrics.get("entities", {}).values():
                            stored += e["raw_rows"]
                            repeated += e["repeated"]
                after = raw_sizes()
                added = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
                rows, once, gz = stored_once_bytes(day)
                kinds = stored_kinds(first_id)
                days.append({"day": day, "added": added, "once": once, "gzip": gz, "rows": rows, "calls": calls,
                             "stored": stored, "repeated": repeated, "kinds": kinds})  # fmt: skip
        return days
    finally:
        transport.close()
        db.close()


# -- report ---------------------------------------------------------------------------------------------
def sim_bytes(url: str) -> int:
    """Response bytes the simulator has sent (its counters)."""
    import httpx

    return int(httpx.get(url + "/__sim/stats", timeout=10).json()["bytes"])


def print_pass(label: str, p: dict, latency_ms: int, concurrency: int, extra_bound: float = 0.0) -> float:
    requests = sum(r.calls for r in p["results"].values())
    bound = requests * latency_ms / 1000 / concurrency + extra_bound
    ok = all(r.ok for r in p["results"].values())
    rows = sum(r.rows_in for r in p["results"].values())
    cores = os.cpu_count() or 1
    busy = (p["cpu"][0] + p["cpu"][2]) / p["wall"] / cores
    print(
        f"{label:<22}{p['wall']:>7.2f} s {requests:>5} req  bound {bound:>5.2f} s  ratio {p['wall'] / bound:>5.2f}x  "
        f"{rows:>7} rows  CPU ours {p['cpu'][0]:.2f} s, simulator {p['cpu'][1]:.2f} s, PostgreSQL {p['cpu'][2]:.2f} s "
        f"({busy:.0%} of {cores} cores){'' if ok else '  (errors)'}"
    )
    return bound


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rate-limit", type=float, default=0.0, help="requests/s per host (0 = off)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db-writers", type=int, default=2, help="parallel DB writer connections per extractor")
    ap.add_argument(
        "--batch-mb", type=float, default=8.0, help="raw bytes per write batch (EXTRACT default 8)"
    )
    ap.add_argument("--sequential", action="store_true", help="one extractor after another")
    ap.add_argument("--faults", action="store_true", help="429s, 5xx and dropped connections in the v2 pass")
    ap.add_argument("--bandwidth-mbps", type=float, default=2.0)
    ap.add_argument(
        "--pg15", action="store_true", help="a throwaway Debian PostgreSQL 15 cluster (lz4, as Supabase)"
    )
    ap.add_argument("--skip-v1", action="store_true")
    ap.add_argument("--skip-backfill", action="store_true")
    ap.add_argument("--skip-reextract", action="store_true")
    ap.add_argument("--skip-bandwidth", action="store_true")
    ap.add_argument("--reextract-days", type=int, default=7, help="simulated days of 4 runs each, measured")
    ap.add_argument("--lookback-days", type=int, default=None, help="override EXTRACT_LOOKBACK_DAYS")
    args = ap.parse_args(argv)

    if args.pg15:
        from lib.db.pgcluster import local_cluster

        with local_cluster(prefix="bench-pg15") as cluster:
            os.environ["DATABASE_URL"] = cluster.url()
            for kind in ("app", "analyst", "pipeline", "dbt"):
                user, password = f"bench_{kind}", secrets.token_hex(12)
                os.environ[f"{kind.upper()}_DATABASE_URL"] = cluster.url(user=user, password=password)
            print(f"server: Debian PostgreSQL 15 ({cluster.bin_dir}), lz4 on raw")
            args.pg15 = False
            return main_with(args)
    return main_with(args)


def main_with(args: argparse.Namespace) -> int:
    server = os.environ.get("DATABASE_URL") or None
    tz = ZoneInfo(TZ)
    end = datetime.now(tz).date() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    procs = []
    try:
        proc, url = start_simulator(args.latency_ms, args.scale, args.faults)
        procs.append(proc)
        warm(url, start, end, args.concurrency)
        passes = {} if args.skip_backfill else {2: backfill(args, url, proc.pid, 2, start, end, server)}
        if not args.skip_v1 and not args.skip_backfill:
            passes[1] = backfill(args, url, proc.pid, 1, start, end, server)
        floor = {"csv": {"pages": 0, "mb": 0.0}}
        if passes:
            db = Scratch(server, url)
            try:
                floor = history_cpu_floor(url, start, end)
            finally:
                db.close()
        cores = os.cpu_count() or 1
        mode = "sequential" if args.sequential else "one stage"
        print(
            f"\n{args.days} local days ({TZ}) {start}..{end}, latency {args.latency_ms} ms, concurrency "
            f"{args.concurrency}, rate limit {args.rate_limit or 'off'}, scale {args.scale}, db writers "
            f"{args.db_writers}, {mode}{', faults' if args.faults else ''}"
        )
        print(f"history: {floor['csv']['pages']} weekly pages, {floor['csv']['mb']:.1f} MB of CSV")
        for fmt in sorted(passes, reverse=True):
            p = passes[fmt]
            bound = print_pass(f"backfill, raw v{fmt}", p, args.latency_ms, args.concurrency)
            names = ["v1"] if fmt == 1 else ["v2", "v2 as JSON"]
            for name in names:
                f = floor[name]
                floor_s = (f["python_s"] + f["store_s"]) / cores
                print(
                    f"  CPU floor, {name}: {f['mb']:.1f} MB; ours {f['python_s']:.2f} s + PostgreSQL "
                    f"{f['parse_s']:.2f} s to build the JSONB, {f['store_s']:.2f} s to build and store it -> "
                    f">= {floor_s:.2f} s on {cores} cores = {floor_s / bound:.2f}x the bound"
                )
            print(
                f"  raw: {p['pages']} history pages, {p['rows']} rows, {p['hist_bytes'] / 1e6:.1f} MB on disk = "
                f"{p['hist_bytes'] / max(p['rows'], 1):.0f} bytes per stored history row; all raw "
                f"{p['raw_total'] / 1e6:.1f} MB; messages transform {p['transform_s']:.2f} s "
                f"({p['transform_rows']} rows)"
            )
        print("  target: v2 backfill <= 1.5x the network bound")

        if not args.skip_reextract:
            days = reextraction(args, url, server)
            print("\nre-extraction: 4 incremental runs a day (06, 12, 18, 24 h local), after a backfill and a "
                  "warm-up day; the API answers as at each run's time")  # fmt: skip
            print(f"{'local day':<12}{'msgs':>6}{'req':>6}{'stored':>7}{'repeat':>7}{'history kB':>11}"
                  f"{'log kB':>8}{'other kB':>9}{'added kB':>9}{'once kB':>8}{'factor':>7}{'vs gzip':>8}")  # fmt: skip
            for d in days:
                added = sum(d["added"].values())
                hist = d["added"].get("raw_chat_stats", 0)
                log = d["added"].get("extraction_log", 0)
                print(f"{d['day']!s:<12}{d['rows']:>6}{d['calls']:>6}{d['stored']:>7}{d['repeated']:>7}"
                      f"{hist / 1e3:>11.0f}{log / 1e3:>8.0f}{(added - hist - log) / 1e3:>9.0f}{added / 1e3:>9.0f}"
                      f"{d['once'] / 1e3:>8.0f}{added / d['once']:>7.2f}{added / d['gzip']:>8.2f}")  # fmt: skip
            for d in days:
                print(
                    f"  {d['day']}: "
                    + ", ".join(f"{k} {n} ({b / 1e3:.0f} kB)" for k, (n, b) in sorted(d["kinds"].items()))
                )
            total = sum(sum(d["added"].values()) for d in days)
            once = sum(d["once"] for d in days)
            print(f"  {len(days)} days: raw grew {total / 1e3:.0f} kB for {once / 1e3:.0f} kB of new data stored "
                  f"once -> factor {total / once:.2f} (target <= 2); 'once' = the day's messages and sessions "
                  f"as raw stores them (one page, compressed like raw), gzip of the same "
                  f"{sum(d['gzip'] for d in days) / 1e3:.0f} kB")  # fmt: skip

        if not args.skip_bandwidth:
            bps = int(args.bandwidth_mbps * 1e6)
            slow, slow_url = start_simulator(args.latency_ms, args.scale, False, bps)
            procs.append(slow)
            warm(slow_url, start, end, args.concurrency)
            sent0 = sim_bytes(slow_url)
            p = backfill(args, slow_url, slow.pid, 2, start, end, server)
            total_bytes = sim_bytes(slow_url) - sent0
            print(f"\nbandwidth {args.bandwidth_mbps:g} MB/s per response ({total_bytes / 1e6:.1f} MB sent):")
            print_pass(
                "backfill, raw v2", p, args.latency_ms, args.concurrency, total_bytes / bps / args.concurrency
            )
            print("  bound = (requests x latency + bytes / bandwidth) / concurrency")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
