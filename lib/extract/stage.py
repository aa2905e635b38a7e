"""The whole extract stage at once: every extractor in its own thread, sharing one client.

The shared client caps requests in flight at `concurrency` for all of them together, so the stage
waits on the network about `requests × latency ÷ concurrency` rather than the sum of each
extractor's own round trips (most extractors make one or two calls).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from lib.api import IndigitallClient
from lib.config import get_tenant
from lib.extract.base import client_for, new_run_id
from lib.extract.options import ExtractOptions
from lib.steps import StepResult


def run_extractors(
    names: Sequence[str] | None = None,
    *,
    tenant_id: str | None = None,
    application_id: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    run_id: str | None = None,
    mode: str = "incremental",
    client: IndigitallClient | None = None,
    options: ExtractOptions | None = None,
) -> dict[str, StepResult]:
    """Run the named extractors (default: all) concurrently under one run id; results in `names` order.

    A failing extractor does not stop the others: its StepResult carries the errors.
    """
    from lib.extract import EXTRACTORS, run_extractor

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
    try:
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="extractor") as pool:
            futures = {
                name: pool.submit(
                    run_extractor,
                    name,
                    tenant_id=tenant_id,
                    application_id=application_id,
                    date_from=date_from,
                    date_to=date_to,
                    run_id=run_id,
                    mode=mode,
                    client=client,
                    options=options,
                )  # fmt: skip
                for name in names
            }
            return {name: fut.result() for name, fut in futures.items()}
    finally:
        if own_client:
            client.close()
