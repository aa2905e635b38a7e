"""The whole extract stage at once: every extractor in its own thread, sharing one client.

The shared client caps requests in flight at `concurrency` for all of them together, so the stage
waits on the network about `requests × latency ÷ concurrency` rather than the sum of each
extractor's own round trips (most extractors make one or two calls).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lib.api import IndigitallClient
from lib.config import get_tenant
from lib.extract.base import client_for, new_run_id
from lib.extract.options import ExtractOptions
from lib.extract.registry import EXTRACTORS, run_extractor
from lib.steps import StepResult


def run_extractors(
    names: Sequence[str] | None = None,
    *,
    tenant_id: str | None = None,
    run_id: str | None = None,
    client: IndigitallClient | None = None,
    options: ExtractOptions | None = None,
    **params: Any,
) -> dict[str, StepResult]:
    """Run the named extractors (default: all) concurrently under one run id; results in `names` order.

    `params` (application_id, date_from, date_to, mode) go to every `run_extractor` call. A failing
    extractor does not stop the others: its StepResult carries the errors.
    """
    names = list(names or EXTRACTORS)
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        raise ValueError(
            f"unknown extractor(s) {', '.join(unknown)}; expected some of {', '.join(EXTRACTORS)}"
        )
    options = options or ExtractOptions.from_env()
    run_id = run_id or new_run_id()
    own_client = client is None
    if own_client:
        tenant = get_tenant(tenant_id)
        try:
            client = client_for(tenant, options)
        except ValueError as exc:
            return {n: StepResult(step=f"extract_{n}", tenant_id=tenant.id, errors=[str(exc)]) for n in names}
    shared = {"tenant_id": tenant_id, "run_id": run_id, "client": client, "options": options, **params}
    try:
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="extractor") as pool:
            futures = {name: pool.submit(run_extractor, name, **shared) for name in names}
            return {name: fut.result() for name, fut in futures.items()}
    finally:
        if own_client and client is not None:
            client.close()
