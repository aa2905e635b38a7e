"""Import-time trims for processes that load papermill/nbformat (the runner and its workers).

jsonschema (pulled in by nbformat) imports `rfc3987_syntax`, which compiles a grammar at import and
costs about a second per process; it only backs the optional "iri" format checks, which notebook
validation does not use (nor does dbt). Blocking it is local to the calling process.

`DBT_LAUNCHER` is dbt's command line with the same trim (`python -c DBT_LAUNCHER <dbt args>`): the
import was 1-3.5 s of every dbt start on this machine, a third of an incremental dbt step.
"""

from __future__ import annotations

import sys


def trim() -> None:
    """Skip the optional, slow rfc3987_syntax import (no effect once jsonschema is loaded)."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


DBT_LAUNCHER = (
    "import sys; from lib.pipeline._fastimport import trim; trim(); "
    "from dbt.cli.main import cli; sys.argv[0] = 'dbt'; sys.exit(cli())"
)
