"""Run inside a step kernel between two steps (lib.pipeline.kernel.reset): its namespace emptied."""

from __future__ import annotations

import gc


def reset_namespace() -> None:
    """Empty the user namespace, history and output cache, and restart the execution count at 1;
    imported modules stay loaded.

    IPython's own reset (`%reset -f`) runs two full garbage collections (the magic's, and the output
    cache flush's): with pandas and SQLAlchemy loaded, ≈ 0.1–0.2 CPU-s per step, more than the rest of
    a small step's kernel work. A step's objects are freed by reference counting as the namespace goes;
    cycles are left to the interpreter's own generational collector."""
    from IPython import get_ipython

    shell = get_ipython()
    collect = gc.collect
    gc.collect = lambda generation=2: 0  # noqa: ARG005 - IPython calls it during the reset only
    try:
        shell.reset(new_session=False)
    finally:
        gc.collect = collect
    shell.execution_count = 1
