"""`bi extract NAME`: one extractor run directly (no notebook), with its summary printed."""

from __future__ import annotations

import argparse

from lib.extract import EXTRACTORS, run_extractor


def main(args: argparse.Namespace) -> int:
    """Run the named extractor (or `all`) for the tenant; exit 1 when a required endpoint failed."""
    names = EXTRACTORS if args.name == "all" else (args.name,)
    failed = False
    for name in names:
        result = run_extractor(
            name, tenant_id=args.tenant, application_id=args.application_id,
            date_from=args.date_from, date_to=args.date_to,
        )  # fmt: skip
        print(result.summary_frame().to_string())
        print()
        failed = failed or not result.ok
    return 1 if failed else 0
