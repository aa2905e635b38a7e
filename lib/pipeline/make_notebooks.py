"""`python -m lib.pipeline.make_notebooks [--check]`: (re)generate the step notebooks."""

from __future__ import annotations

import argparse
import sys

from lib.config import PROJECT_ROOT
from lib.pipeline.notebook_templates import expected_notebooks, write_notebooks


def main(argv: list[str] | None = None) -> int:
    """Write the notebooks (or, with --check, exit 1 when any differs from its template)."""
    p = argparse.ArgumentParser(prog="python -m lib.pipeline.make_notebooks")
    p.add_argument("--check", action="store_true", help="only report notebooks that differ")
    args = p.parse_args(argv)
    if args.check:
        stale = [
            path for path, text in expected_notebooks().items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]  # fmt: skip
        for path in stale:
            print(f"stale: {path.relative_to(PROJECT_ROOT)}")
        return 1 if stale else 0
    for path in write_notebooks():
        print(f"wrote {path.relative_to(PROJECT_ROOT)}" if path.exists() else f"removed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
