"""Citus scale-out tests (issue 18): `make test-citus`, not part of `make test` (.ci/run runs both).

They need the Citus build of scripts/citus/build.sh (cached under ~/.cache/indigitall-bi/, keyed by
the Citus and PostgreSQL versions; ~6 min cold on 2 cores). They skip, with the reason, only when that
build cannot run on this machine (no Citus source, no PostgreSQL 15 packages); a build that runs and
fails is a test error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the allow/deny matrix of tests/test_db_logins.py is reused on the coordinator
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture(scope="session")
def citus_root() -> Path:
    """The runnable PostgreSQL 15 + Citus root (built once, then cached)."""
    from lib.db.citus_cluster import CitusUnavailable, citus_root

    try:
        return citus_root()
    except CitusUnavailable as exc:
        pytest.skip(f"Citus cannot be built here: {exc}")
