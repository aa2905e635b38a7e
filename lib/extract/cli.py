"""`bi extract NAME|all`: extractors run directly (no notebook), with their summaries printed."""

from __future__ import annotations

import argparse

from lib.extract import run_extractors


def main(args: argparse.Namespace) -> int:
    """Run the named extractor (or `all`, concurrently); exit 1 when a required endpoint failed."""
    results = run_extractors(
        None if args.name == "all" else [args.name], tenant_id=args.tenant,
        application_id=args.application_id, date_from=args.date_from, date_to=args.date_to,
    )  # fmt: skip
    for result in results.values():
        print(result.summary_frame().to_string())
        print()
    return 0 if all(r.ok for r in results.values()) else 1
