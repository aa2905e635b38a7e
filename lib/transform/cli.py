"""`bi transform [NAME] [--tenant T] [--full-refresh]`: run transforms directly, print a summary."""

from __future__ import annotations

import argparse
import sys

from lib.steps import StepResult


def _table(results: list[StepResult]) -> str:
    head = ("step", "status", "rows in", "rows out", "rejects", "seconds")
    rows = [
        (
            r.step,
            "ok" if r.ok else "FAILED",
            str(r.rows_in),
            str(r.rows_out),
            str(r.rejects),
            f"{r.duration_s:.3f}",
        )
        for r in results
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run one transform (args.name) or all of them then the post-transforms; 0 when all succeed."""
    from lib.transform import POST_TRANSFORMS, REGISTRY, TRANSFORMS, run_transform

    name = getattr(args, "name", None)
    if name and name not in REGISTRY:
        print(f"unknown transform {name!r}; expected one of: {', '.join(REGISTRY)}", file=sys.stderr)
        return 2
    names = [name] if name else [*TRANSFORMS, *POST_TRANSFORMS]
    results = [
        run_transform(
            n,
            tenant_id=getattr(args, "tenant", None),
            full_refresh=bool(getattr(args, "full_refresh", False)),
        )
        for n in names
    ]
    print(
        f"tenant {results[0].tenant_id}" + (" (full refresh)" if getattr(args, "full_refresh", False) else "")
    )
    print(_table(results))
    for r in results:
        for w in r.warnings:
            print(f"warning [{r.step}]: {w}")
        for e in r.errors:
            print(f"error [{r.step}]: {e}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1
