"""The pipeline: step graph, papermill runner, run ledger, lock, secret scan (see docs/contracts.md).

Heavy modules (papermill, nbconvert) load only in the worker processes; importing this package is cheap.
"""

from lib.pipeline.lock import RunLocked, is_locked

__all__ = ["RunLocked", "is_locked"]
