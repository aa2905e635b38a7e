"""Runner overhead: the pipeline through notebooks (papermill; a worker's kernel serves its kind of step)
against the same steps called as plain functions in one process, on the same data (simulator, 90 days,
a scratch database).

    .venv/bin/python benchmarks/bench_runner.py [--days 90] [--skip-full]

Reports, per step, plain seconds vs notebook seconds, the median overhead per step (target <= 1.5 s),
and the wall-clock of a transform-only run through notebooks (target < 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEY = "bench-key-" + secrets.token_hex(8)


def _setup(scratch: Path) -> tuple[str, str, object]:
    import psycopg2

    from lib.config import reload_settings
    from lib.db import migrate
    from lib.db.embedded import server_uri
    from lib.db.urls import to_dsn, with_database
    from lib.simulator import start_in_thread

    admin = server_uri("postgres")
    name = f"bi_bench_{secrets.token_hex(3)}"
    conn = psycopg2.connect(to_dsn(admin))
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    sim = start_in_thread(port=0, server_key=KEY)
    os.environ.update(
        DATABASE_URL=with_database(admin, name), RUNS_DIR=str(scratch / "runs"), TENANT_ID="demo",
        INDIGITALL_APP_ID="100274", INDIGITALL_SERVER_KEY=KEY, INDIGITALL_BASE_URL=sim.url,
        TENANTS_FILE=str(scratch / "none.yml"), JUPYTER_DATA_DIR=str(scratch / "jd"), IPYTHONDIR=str(scratch / "ip"),
    )  # fmt: skip
    reload_settings()
    migrate()
    return admin, name, sim


def _drop(admin: str, name: str) -> None:
    import shutil

    import psycopg2

    from lib.db import dispose_engines
    from lib.db.urls import to_dsn
    from lib.dbt_runner import dbt_work_dir

    shutil.rmtree(dbt_work_dir(), ignore_errors=True)  # the scratch database's dbt target/ and logs/
    dispose_engines()
    conn = psycopg2.connect(to_dsn(admin))
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def plain(steps, date_from: str, date_to: str, run_dir: Path) -> dict[str, float]:
    """Every step called in this process, in seq order; seconds per step id."""
    from lib.pipeline.nbstep import run_step

    out: dict[str, float] = {}
    for s in steps:
        t = time.perf_counter()
        kw = {"date_from": date_from, "date_to": date_to} if s.kind == "extract" else {}
        if s.kind == "dbt":
            kw["run_dir"] = str(run_dir)
        result = run_step(s.kind, s.name, tenant="demo", run_id=f"plain-{int(t)}", **kw)
        if not result.ok:  # timed anyway: the comparison is about the runner, not the step
            print(f"(plain {s.id} reported errors: {'; '.join(result.errors)[:160]})")
        out[s.id] = time.perf_counter() - t
    return out


def notebooks(mode: str, date_from: str, date_to: str) -> tuple[float, dict[str, float]]:
    """A `bi run` through the runner; (wall seconds, seconds per step from the ledger)."""
    from lib.pipeline.runner import RunOptions, run_pipeline

    t = time.perf_counter()
    out = run_pipeline(RunOptions(mode=mode, date_from=date_from, date_to=date_to, progress=False))
    wall = time.perf_counter() - t
    if out.exit_code != 0:
        print(f"(notebook run did not fully succeed: {out.message[:300]})")
    return wall, {s["step"]: (s["duration_ms"] or 0) / 1000 for s in out.steps}


def report(title: str, p: dict[str, float], n: dict[str, float], wall_p: float, wall_n: float) -> float:
    print(f"\n## {title}\n")
    print("| step | plain s | notebook s | overhead s |\n|---|---:|---:|---:|")
    over = []
    for sid, ps in p.items():
        ns = n.get(sid, float("nan"))
        over.append(ns - ps)
        print(f"| {sid} | {ps:.2f} | {ns:.2f} | {ns - ps:+.2f} |")
    med = statistics.median(over)
    print(
        f"\nwall-clock: plain (sequential, one process) {wall_p:.1f} s; notebooks (parallel workers) {wall_n:.1f} s"
    )
    print(f"median overhead per step: {med:.2f} s (target <= 1.5 s); mean {statistics.mean(over):.2f} s")
    return med


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--skip-full", action="store_true", help="only the transform-only comparison")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bi-bench-"))
    admin, name, sim = _setup(scratch)
    from lib.pipeline.graph import plan

    today = datetime.now(UTC).date()
    d0, d1 = str(today - timedelta(days=args.days)), str(today - timedelta(days=1))
    print(f"# runner benchmark: {args.days} days ({d0}..{d1}), {os.cpu_count()} cores, db {name}")
    try:
        full = plan("full")
        t = time.perf_counter()
        p_full = plain(full, d0, d1, scratch / "plain-dbt")  # also loads the 90 days of raw data
        wall_pf = time.perf_counter() - t
        if not args.skip_full:
            wall_nf, n_full = notebooks("full", d0, d1)
            report("full run (extract + transform + post + dbt)", p_full, n_full, wall_pf, wall_nf)
        tonly = plan("transform-only")
        t = time.perf_counter()
        p_t = plain(tonly, d0, d1, scratch / "plain-dbt2")
        wall_pt = time.perf_counter() - t
        wall_nt, n_t = notebooks("transform-only", d0, d1)
        report("transform-only run", p_t, n_t, wall_pt, wall_nt)
        print(f"\ntransform-only through notebooks: {wall_nt:.1f} s (target < 30 s)")
    finally:
        sim.stop()
        _drop(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
