"""Import-time trims for processes that load papermill/nbformat (the runner and its workers).

jsonschema (pulled in by nbformat) imports `rfc3987_syntax`, which compiles a grammar at import and
costs about a second per process; it only backs the optional "iri" format checks, which notebook
validation does not use. Blocking it is local to the calling process.
"""

from __future__ import annotations

import sys


def trim() -> None:
    """Skip the optional, slow rfc3987_syntax import (no effect once jsonschema is loaded)."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
