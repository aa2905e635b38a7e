"""Many tenants on one schedule (issue 17): batches of N tenants from the simulator, each tenant with
its own key and application, on a scratch database.

    .venv/bin/python benchmarks/bench_tenants.py [--tenants 20] [--days 90] [--scale 1.0] [--skip-dash]

Prints, measured in one run:
- the backfill batch wall time (`run_batch("full")` over N tenants, EXTRACT_BACKFILL_DAYS = days);
- an incremental batch with 6 hours of new data each (BI_CLOCK_NOW moved 6 h on; target <= 60 s);
- the same again 6 hours later with the kernel fork server off (BI_KERNEL_FORKSERVER=off: every
  kernel launched as a new Python), for the ratio (skip with --skip-launch-compare);
- a transform-only batch with nothing new (target <= 10 s);
- dashboard callback p95 for one tenant with all N tenants in the database, against the same figure
  on a database holding only that tenant (target < 300 ms), through bench_dash's requests.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TZS = ("America/Bogota", "Europe/Madrid", "America/Mexico_City", "America/Lima")


def tenants(n: int) -> list[tuple[str, str, str, str]]:
    """(id, application id, time zone, key) of each benchmark tenant."""
    return [
        (f"coop{i:02d}", str(300000 + i), TZS[i % len(TZS)], f"k{i:02d}-" + secrets.token_hex(8))
        for i in range(n)
    ]


def setup(scratch: Path, ts: list[tuple[str, str, str, str]], days: int, scale: float, now: datetime):
    """Simulator with the tenants, tenants.yml and the env (keys in their own variables); returns the
    simulator. The caller opens the scratch database (lib.db.scratch: DATABASE_URL and the logins)."""
    from lib.config import reload_settings
    from lib.simulator import start_in_thread
    from lib.simulator.routes import SimTenant

    os.environ["BI_CLOCK_NOW"] = now.isoformat()
    # The incremental batch comes minutes after the backfill here, 6 hours later in its data: dbt's
    # lookback margin (10 min) would re-read the backfill's rows, which on a real schedule are hours old.
    os.environ.setdefault("BI_DBT_LOOKBACK_MINUTES", "0")
    scratch.mkdir(parents=True, exist_ok=True)
    sim = start_in_thread(port=0, scale=scale, tenants=[SimTenant(t, (a,), tz, k) for t, a, tz, k in ts])
    lines = ["tenants:"]
    for t, a, tz, key in ts:
        lines += [f"  - id: {t}", f"    base_url: {sim.url}", f"    timezone: {tz}",
                  f"    application_ids: ['{a}']", f"    server_key_env: BENCH_KEY_{t.upper()}"]  # fmt: skip
        os.environ[f"BENCH_KEY_{t.upper()}"] = key
    (scratch / "tenants.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.environ.update(
        RUNS_DIR=str(scratch / "runs"), TENANT_ID=ts[0][0], TENANTS_FILE=str(scratch / "tenants.yml"),
        EXTRACT_BACKFILL_DAYS=str(days), BI_WEEKLY_REPORT="off", JUPYTER_DATA_DIR=str(scratch / "jd"),
        IPYTHONDIR=str(scratch / "ip"), HOME=str(scratch / "home"),
    )  # fmt: skip
    os.environ.pop("INDIGITALL_SERVER_KEY", None)
    reload_settings()
    return sim


def cleanup() -> None:
    import shutil

    from lib.db import dispose_engines
    from lib.dbt_runner import dbt_work_dir

    shutil.rmtree(dbt_work_dir(), ignore_errors=True)  # the scratch database's dbt target/ and logs/
    dispose_engines()


def breakdown(out) -> str:
    """Where a batch's time went, from the ledger: its tenant runs (median wall), their steps' kernel
    waits, notebook executions and lib time (sums), and how many steps ran on a reused kernel."""
    import statistics

    from lib.pipeline import ledger

    runs = [
        ledger.get_run(r["run_id"], t, role="pipeline") for t, r in out.tenants.items() if r.get("run_id")
    ]
    runs = [r for r in runs if r is not None]
    if not runs:
        return "    no tenant run (every tenant up to date)"
    ran = [s for r in runs for s in r.steps if s.status != "skipped"]
    timing = {"kernel_wait": 0, "execute": 0, "lib": 0}
    for s in ran:
        for k in timing:
            timing[k] += int(((s.metrics or {}).get("timings_ms") or {}).get(k) or 0)
    by_step: dict[str, int] = {}
    for s in ran:
        by_step[s.step] = by_step.get(s.step, 0) + int(
            ((s.metrics or {}).get("timings_ms") or {}).get("lib") or 0
        )
    top = sorted(by_step.items(), key=lambda kv: -kv[1])[:8]
    reused = sum(bool((s.metrics or {}).get("kernel_reused")) for s in ran)
    forked = sum(bool((s.metrics or {}).get("kernel_forked")) for s in ran)
    skipped = sum(s.status == "skipped" for r in runs for s in r.steps)
    return (
        f"    {len(runs)} tenant runs, median {statistics.median(r.duration_ms or 0 for r in runs) / 1000:.1f} s; "
        f"{len(ran)} steps ran ({reused} on a reused kernel, {forked} on a forked one), {skipped} skipped up to date; "
        f"sums: kernel wait {timing['kernel_wait'] / 1000:.1f} s, notebook {timing['execute'] / 1000:.1f} s "
        f"(lib {timing['lib'] / 1000:.1f} s)\n"
        "    lib time by step, all tenants: " + ", ".join(f"{k} {v / 1000:.1f} s" for k, v in top)
    )


def batch(mode: str, ids: list[str]) -> tuple[float, object]:
    from lib.pipeline.batch import run_batch

    t0 = time.perf_counter()
    out = run_batch(mode, ids, progress=False)
    wall = time.perf_counter() - t0
    bad = {t: r for t, r in out.tenants.items() if r.get("status") not in ("success", "uptodate")}
    print(f"  {mode:<15} {len(ids):>3} tenants  {wall:8.1f} s  status {out.status}  dbt {out.dbt_status}"
          + (f"  not ok: {bad}" if bad else ""), flush=True)  # fmt: skip
    print(breakdown(out), flush=True)
    if out.dbt_duration_ms is not None:
        slow = (out.dbt_metrics or {}).get("slowest") or {}
        print(f"    dbt build {out.dbt_duration_ms / 1000:.1f} s; slowest: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in list(slow.items())[:6]), flush=True)  # fmt: skip
    return wall, out


def callbacks(url: str, tenant: str, days: int) -> float:
    from bench_dash import measure

    pages = measure(url, tenant, days, 20)
    worst = max(p["p95_ms"] for p in pages.values())
    print("  " + "  ".join(f"{k} p95 {v['p95_ms']:.0f} ms" for k, v in pages.items()), flush=True)
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tenants", type=int, default=20)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--scale", type=float, default=1.0, help="simulator volume per tenant")
    p.add_argument("--skip-dash", action="store_true")
    p.add_argument("--skip-launch-compare", action="store_true",
                   help="no second incremental batch with the kernel fork server off")  # fmt: skip
    args = p.parse_args(argv)
    ts = tenants(args.tenants)
    ids = [t[0] for t in ts]
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    figures: dict[str, float] = {}
    from lib.db.scratch import scratch_database

    with tempfile.TemporaryDirectory(prefix="bench_tenants_") as tmp:
        scratch = Path(tmp)
        if not args.skip_dash:  # the one-tenant baseline: a database holding only the first tenant
            sim = setup(scratch / "one", ts[:1], args.days, args.scale, now)
            with scratch_database("bi_bench_tenants") as url:
                print(f"1 tenant × {args.days} days (baseline)", flush=True)
                figures["backfill_1"], _ = batch("full", ids[:1])
                figures["dash_p95_1"] = callbacks(url, ids[0], args.days)
            sim.stop()
            cleanup()
        sim = setup(scratch / "many", ts, args.days, args.scale, now)
        with scratch_database("bi_bench_tenants") as url:
            print(f"{args.tenants} tenants × {args.days} days", flush=True)
            figures["backfill"], _ = batch("full", ids)
            os.environ["BI_CLOCK_NOW"] = (now + timedelta(hours=6)).isoformat()
            figures["incremental"], _ = batch("full", ids)
            if not args.skip_launch_compare:  # the same batch, 6 more hours, kernels launched one by one
                os.environ["BI_CLOCK_NOW"] = (now + timedelta(hours=12)).isoformat()
                os.environ["BI_KERNEL_FORKSERVER"] = "off"
                print("  (next: kernels launched, no fork server)", flush=True)
                figures["incremental_launched"], _ = batch("full", ids)
                del os.environ["BI_KERNEL_FORKSERVER"]
            figures["transform_only"], _ = batch("transform-only", ids)
            if not args.skip_dash:
                figures["dash_p95_n"] = callbacks(url, ids[0], args.days)
        sim.stop()
        cleanup()
    print("\nsummary")
    print(f"  backfill batch, {args.tenants} tenants: {figures['backfill']:.1f} s")
    print(f"  incremental batch (6 h new): {figures['incremental']:.1f} s  (target <= 60 s)")
    if "incremental_launched" in figures:
        print(f"  incremental batch, kernels launched without the fork server: "
              f"{figures['incremental_launched']:.1f} s ({figures['incremental_launched'] / figures['incremental']:.2f}× the forked)")  # fmt: skip
    print(f"  transform-only batch, nothing new: {figures['transform_only']:.1f} s  (target <= 10 s)")
    if "dash_p95_n" in figures:
        ratio = figures["dash_p95_n"] / figures["dash_p95_1"] if figures["dash_p95_1"] else float("nan")
        print(f"  worst callback p95: {figures['dash_p95_n']:.0f} ms with {args.tenants} tenants, "
              f"{figures['dash_p95_1']:.0f} ms with 1 ({ratio:.2f}×; target < 300 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
