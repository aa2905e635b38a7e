"""Imported by a fresh step kernel while it waits for its step (see lib.pipeline.kernel).

Only imports, no connections and no settings: the step's notebook still runs every line itself.
`BI_KERNEL_PRELOAD` (set by the runner) names the kind of step the kernel will most likely serve
(extract, transform, post, dbt), so a kernel loads only what that kind uses; unset or unknown -> all.
The httpx command-line client (click, rich, pygments: ~0.3 s) is never used by a step: it is skipped.
An extract kernel also builds the API client's TLS context (`shared_ssl_context`) ahead of its step.
"""

from __future__ import annotations

import importlib
import os
import sys

PRELOAD_ENV = "BI_KERNEL_PRELOAD"
COMMON = (
    "pandas", "sqlalchemy", "sqlalchemy.dialects.postgresql.psycopg2", "psycopg2", "lib.steps",
    "lib.config", "lib.db", "lib.pipeline.nbstep",
)  # fmt: skip
BY_KIND = {
    "extract": ("lib.api", "lib.extract", "httpcore"),  # httpcore: imported by httpx's first transport
    "transform": ("lib.transform",),
    "post": ("lib.transform",),
    "dbt": ("lib.dbt_runner",),
}


def modules_for(kind: str | None) -> tuple[str, ...]:
    """The modules a kernel for `kind` imports ahead of its step (every kind's when unknown)."""
    if kind in BY_KIND:
        return COMMON + BY_KIND[kind]
    return COMMON + tuple(dict.fromkeys(m for mods in BY_KIND.values() for m in mods))


def preload(kind: str | None = None) -> None:
    """Import the step's modules now; a module that fails is imported (and fails) in the step instead."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type] - httpx then skips its CLI
    for name in modules_for(kind):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the step imports it again and reports the error
            continue
    if "lib.api.client" in sys.modules:  # its TLS context (the CA bundle), built once per process
        sys.modules["lib.api.client"].shared_ssl_context()


preload(os.environ.get(PRELOAD_ENV) or None)
