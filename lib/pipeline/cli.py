"""`bi run` and `bi runs list|show` (argument parsing lives in lib/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from lib.pipeline.runner import EXIT_USAGE, RunOptions, run_pipeline

if TYPE_CHECKING:
    from lib.pipeline.ledger import RunRecord


def run_main(args: argparse.Namespace) -> int:
    """`bi run ...`: exit 0 all steps succeeded (or were up to date), 1 a step failed, 2 usage, 3 locked,
    128+N stopped by signal N (SIGTERM: 143, SIGINT: 130; the run and its running steps end failed)."""
    outcome = run_pipeline(
        RunOptions(
            mode=args.mode, tenant=args.tenant, date_from=args.date_from, date_to=args.date_to,
            from_step=args.from_step, only=args.only, resume=args.resume,
            run_id=getattr(args, "run_id", None), full_refresh=getattr(args, "full_refresh", False),
            progress=not getattr(args, "no_progress", False), no_dbt=getattr(args, "no_dbt", False),
            max_workers=getattr(args, "workers", None),
        )
    )  # fmt: skip
    if outcome.exit_code > 128:
        print(f"bi run: {outcome.message}", file=sys.stderr)
    elif outcome.exit_code == 3:
        print(f"bi run: {outcome.message}; not started (exit 3). See `bi runs list`.", file=sys.stderr)
    elif outcome.exit_code == EXIT_USAGE:
        print(f"bi run: error: {outcome.message}", file=sys.stderr)
    return outcome.exit_code


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[:19].replace("T", " ")
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def runs_main(args: argparse.Namespace) -> int:
    """`bi runs list [--tenant T] [--limit N] [--json]`, `bi runs show RUN_ID [--json]`."""
    from lib.pipeline import ledger

    if args.action == "prune":
        return prune_main(args)
    if args.action == "list":
        runs = [r.as_dict() for r in ledger.list_runs(args.tenant, limit=args.limit)]
        if args.json:
            print(json.dumps(runs, indent=2, default=str))
            return 0
        for r in runs:
            r["steps"] = f"{r.get('steps_ok', 0)}/{r.get('steps_total', 0)}"
            r["secs"] = None if r.get("duration_ms") is None else f"{r['duration_ms'] / 1000:.1f}"
        print(_table(runs, ["run_id", "tenant_id", "mode", "status", "started_at", "secs", "steps"])
              if runs else "no runs")  # fmt: skip
        return 0
    if not args.run_id:
        print("bi runs show: RUN_ID is required", file=sys.stderr)
        return EXIT_USAGE
    record = ledger.get_run(args.run_id, args.tenant)
    if record is None:
        print(f"bi runs show: no run {args.run_id!r}", file=sys.stderr)
        return 1
    if getattr(args, "html", False):
        return _show_html(record, args)
    run = record.as_dict()
    if args.json:
        print(json.dumps(run, indent=2, default=str))
        return 0
    head = ["run_id", "tenant_id", "mode", "status", "started_at", "finished_at", "duration_ms", "git_commit",
            "archive_dir", "archive_state", "error"]  # fmt: skip
    for key in head:
        if run.get(key) is not None:
            print(f"{key + ':':<13} {_fmt(run[key])}")
    steps = []
    for s in run["steps"]:
        s["secs"] = None if s.get("duration_ms") is None else f"{s['duration_ms'] / 1000:.1f}"
        s["attempt"] = (s.get("metrics") or {}).get("attempt")
        s["error"] = (f"{s['error_name']} (cell {s['error_cell']}): {s['error_message'] or ''}"[:100]
                      if s.get("error_name") else (s.get("reason") or "")[:100] or None)  # fmt: skip
        steps.append(s)
    print()
    print(
        _table(steps, ["seq", "step", "status", "attempt", "secs", "rows_in", "rows_out", "rejects", "error"])
    )
    return 0


def _show_html(run: RunRecord, args: argparse.Namespace) -> int:
    """`bi runs show RUN_ID --html [--step S] [--out DIR]`: each step's HTML, rendered from its notebook."""
    from pathlib import Path

    from lib.pipeline.render import notebook_html
    from lib.pipeline.scan import build_index, contains_secret, current_secrets

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = build_index(current_secrets())
    steps = [s for s in run.steps if not args.step or args.step in (s.step, f"{s.seq:02d}_{s.step}")]
    if args.step and not steps:
        print(f"bi runs show: run {run.run_id} has no step {args.step!r}", file=sys.stderr)
        return EXIT_USAGE
    written = 0
    for s in steps:
        location = s.html_path or s.notebook_path
        if not location:
            continue
        try:
            html = notebook_html(location)
        except (OSError, ValueError) as exc:
            state = run.archive_state or "local"
            print(f"{s.step}: not available ({state}: {type(exc).__name__})", file=sys.stderr)
            continue
        if contains_secret(html, index):
            print(f"{s.step}: withheld (it would show a secret value)", file=sys.stderr)
            continue
        dest = out / f"{s.seq:02d}_{s.step}.html"
        dest.write_text(html, encoding="utf-8")
        print(dest)
        written += 1
    return 0 if written else 1


def prune_main(args: argparse.Namespace) -> int:
    """`bi runs prune [--days N] [--max-size S] [--to URL] [--dry-run]`: apply the retention policy."""
    from lib.config import ConfigError, get_settings
    from lib.pipeline.retention import Policy, parse_size, prune

    try:
        policy = Policy.from_env()
        if args.days is not None:
            policy.days = args.days if args.days > 0 else None
        if args.max_size:
            policy.max_bytes = parse_size(args.max_size)
        if args.to:
            policy.target = args.to.rstrip("/")
    except (ConfigError, ValueError) as exc:
        print(f"bi runs prune: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = prune(get_settings().runs_path, policy, dry_run=args.dry_run)
    print(("(dry run) " if args.dry_run else "") + report.summary())
    for run_id in report.moved:
        print(f"moved   {run_id} -> {policy.target}")
    for run_id in report.pruned:
        print(f"pruned  {run_id}")
    return 1 if report.errors else 0
