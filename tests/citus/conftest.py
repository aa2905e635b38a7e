"""Citus scale-out tests (issue 18): `make test-citus` runs them (BI_TEST_CITUS=1); `make test` does not
collect them (they build Citus once, ~6 min, and start four PostgreSQL servers)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

collect_ignore_glob = [] if os.environ.get("BI_TEST_CITUS") == "1" else ["test_*.py"]

# the allow/deny matrix of tests/test_db_logins.py is reused on the coordinator
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
