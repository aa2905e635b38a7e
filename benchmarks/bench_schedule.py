"""Weeks of schedule in fast-forward: 4 full + 20 transform-only runs a simulated day, one database.

    .venv/bin/python benchmarks/bench_schedule.py [--days 7] [--scale 1.0] [--backfill-days 3]

A scratch database, the simulator on loopback and the real runner (papermill, kernels, dbt), with the
clock override (BI_CLOCK_NOW) moved to each scheduled hour: a full run at 00, 06, 12, 18 h, a
transform-only run every other hour. The simulator serves data only up to its clock, so each full
run finds six hours of new data. Per simulated day it prints the disk of `runs/`, of `raw.*` and of
the whole database, the compressed size of the day's new raw data, and wall p50/p95 of each kind of
run, then the issue's targets:
- disk growth per day <= 3 x the day's new raw data (compressed) + 300 KB per full run;
- a transform-only run with nothing new <= 5 s; an incremental full run with 6 h of new data <= 20 s;
- the last day's wall times within 10 % of the first day's.
Figures, not assertions (the short form runs in `make test`: tests/test_schedule.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from lib.config import reload_settings

KEY = "bench-schedule-key-7c1d"
START = datetime(2026, 3, 2, tzinfo=UTC)


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _db_sizes(url: str, day_start: datetime, day_end: datetime) -> dict[str, int]:
    from lib.db import get_engine

    with get_engine("owner", url).connect() as conn:
        raw = conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'raw' AND c.relkind = 'r'"
            )
        ).scalar_one()
        db = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        tables = [r[0] for r in conn.execute(text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND column_name = 'source_data'"))]  # fmt: skip
        new = 0
        for t in tables:
            new += conn.execute(
                text(
                    f"SELECT coalesce(sum(pg_column_size(source_data)), 0) FROM raw.{t} "  # noqa: S608
                    "WHERE loaded_at >= :a AND loaded_at < :b"
                ),
                {"a": day_start, "b": day_end},
            ).scalar_one()
    return {"raw": int(raw), "db": int(db), "new_raw": int(new)}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0, help="simulator volume (1.0 = the demo tenant)")
    ap.add_argument("--backfill-days", type=int, default=3, help="history loaded before day 1")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    from lib.db.scratch import scratch_database
    from lib.pipeline.runner import RunOptions, run_pipeline
    from lib.simulator import start_in_thread

    scratch = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    sim = start_in_thread(port=0, server_key=KEY, scale=args.scale)
    env = {
        "RUNS_DIR": str(scratch / "runs"), "TENANT_ID": "demo", "INDIGITALL_APP_ID": "100274",
        "INDIGITALL_SERVER_KEY": KEY, "INDIGITALL_BASE_URL": sim.url,
        "TENANTS_FILE": str(scratch / "no-tenants.yml"), "EXTRACT_BACKFILL_DAYS": str(args.backfill_days),
        "JUPYTER_DATA_DIR": str(scratch / "jd"), "IPYTHONDIR": str(scratch / "ipy"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "jr"), "JUPYTER_CONFIG_DIR": str(scratch / "jc"),
    }  # fmt: skip
    os.environ.update(env)
    os.environ.pop("BI_PIPELINE_FAULT", None)
    runs_dir = Path(env["RUNS_DIR"])
    days: list[dict] = []
    try:
        with scratch_database("bi_bench_schedule") as url:
            reload_settings()
            os.environ["BI_CLOCK_NOW"] = START.isoformat()
            t0 = time.perf_counter()
            first = run_pipeline(RunOptions(mode="full", progress=False))
            print(
                f"backfill ({args.backfill_days} days) {first.status} in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            prev = {**_db_sizes(url, START, START), "runs": _du(runs_dir)}
            for d in range(1, args.days + 1):
                day = START + timedelta(days=d)
                walls: dict[str, list[float]] = {"full": [], "transform-only": [], "nothing-new": []}
                failed = 0
                for hour in range(24):
                    os.environ["BI_CLOCK_NOW"] = (day + timedelta(hours=hour)).isoformat()
                    mode = "full" if hour % 6 == 0 else "transform-only"
                    t0 = time.perf_counter()
                    out = run_pipeline(RunOptions(mode=mode, progress=False))
                    wall = time.perf_counter() - t0
                    failed += out.exit_code != 0
                    walls[mode].append(wall)
                    if mode == "transform-only" and all(s["status"] == "skipped" for s in out.steps):
                        walls["nothing-new"].append(wall)
                sizes = _db_sizes(url, day, day + timedelta(days=1))
                cur = {**sizes, "runs": _du(runs_dir)}
                growth = (cur["db"] - prev["db"]) + (cur["runs"] - prev["runs"])
                budget = 3 * sizes["new_raw"] + 300_000 * len(walls["full"])
                row = {
                    "day": d, "runs_mb": cur["runs"] / 1e6, "raw_mb": cur["raw"] / 1e6, "db_mb": cur["db"] / 1e6,
                    "runs_growth_kb": (cur["runs"] - prev["runs"]) / 1e3, "raw_growth_mb": (cur["raw"] - prev["raw"]) / 1e6,
                    "db_growth_mb": (cur["db"] - prev["db"]) / 1e6, "new_raw_mb": sizes["new_raw"] / 1e6,
                    "growth_mb": growth / 1e6, "budget_mb": budget / 1e6, "failed_runs": failed,
                    "full_p50": statistics.median(walls["full"]), "full_p95": _pct(walls["full"], 0.95),
                    "tonly_p50": statistics.median(walls["transform-only"]), "tonly_p95": _pct(walls["transform-only"], 0.95),
                    "nothing_new_p95": _pct(walls["nothing-new"], 0.95), "nothing_new_runs": len(walls["nothing-new"]),
                }  # fmt: skip
                days.append(row)
                prev = cur
                print(
                    f"day {d}: runs/ {row['runs_mb']:.2f} MB (+{row['runs_growth_kb']:.0f} KB), raw {row['raw_mb']:.1f} MB "
                    f"(+{row['raw_growth_mb']:.2f}), db {row['db_mb']:.1f} MB (+{row['db_growth_mb']:.2f}); new raw "
                    f"{row['new_raw_mb']:.2f} MB compressed; growth {row['growth_mb']:.2f} MB vs budget {row['budget_mb']:.2f}; "
                    f"full p50/p95 {row['full_p50']:.1f}/{row['full_p95']:.1f} s, transform-only p50/p95 "
                    f"{row['tonly_p50']:.2f}/{row['tonly_p95']:.2f} s ({row['nothing_new_runs']} with nothing new, "
                    f"p95 {row['nothing_new_p95']:.2f} s); failed runs {failed}; load avg {os.getloadavg()[1]:.1f}",
                    flush=True,
                )
    finally:
        sim.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if not days:
        return 1
    first_day, last = days[0], days[-1]
    worst_growth = max(days, key=lambda r: r["growth_mb"] - r["budget_mb"])
    print("\n== targets ==")
    print(f"disk growth per day <= budget: worst day {worst_growth['day']}: {worst_growth['growth_mb']:.2f} MB vs "
          f"{worst_growth['budget_mb']:.2f} MB -> {'met' if worst_growth['growth_mb'] <= worst_growth['budget_mb'] else 'MISSED'}")  # fmt: skip
    print(f"runs/ per full run: {max(r['runs_growth_kb'] for r in days) / 4:.0f} KB (<= 300 KB)")
    worst_nn = max(r["nothing_new_p95"] for r in days)
    print(
        f"transform-only with nothing new p95: {worst_nn:.2f} s (<= 5 s) -> {'met' if worst_nn <= 5 else 'MISSED'}"
    )
    worst_full = max(r["full_p95"] for r in days)
    print(f"incremental full run (6 h of new data) p95: {worst_full:.1f} s (<= 20 s) -> {'met' if worst_full <= 20 else 'MISSED'}")  # fmt: skip
    for key in ("full_p50", "tonly_p50"):
        ratio = last[key] / first_day[key] if first_day[key] else float("nan")
        print(f"last day / day 1 {key}: {last[key]:.2f} / {first_day[key]:.2f} s = {ratio:.2f} (<= 1.10)")
    if args.json:
        Path(args.json).write_text(json.dumps(days, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
