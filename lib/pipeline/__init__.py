"""The pipeline: step graph, papermill runner, run ledger, lock, secret scan (see docs/contracts.md).

Heavy modules (papermill, nbconvert) load only in the worker processes; importing this package loads
nothing else (the dbt launcher imports `lib.pipeline._fastimport` alone).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunLocked", "is_locked"]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - the lock's names, imported on first use
    if name in __all__:
        from lib.pipeline import lock

        return getattr(lock, name)
    raise AttributeError(f"module 'lib.pipeline' has no attribute {name!r}")
