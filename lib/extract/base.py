"""The extractor base: resolve the tenant, the client and the application ids, run the entities."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, date, datetime
from typing import ClassVar

from lib.api import ApiError, ClientConfig, IndigitallClient
from lib.config import TenantConfig, get_tenant
from lib.dates import to_date
from lib.db import ensure_tenant
from lib.extract.model import EntitySpec
from lib.extract.options import ExtractOptions
from lib.extract.runner import run_specs
from lib.names import EXTRACT_MODES
from lib.steps import StepResult

log = logging.getLogger(__name__)

MODES = EXTRACT_MODES  # one owner: lib.names


def new_run_id() -> str:
    """A run id for extracts started outside the pipeline."""
    return f"extract-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def as_date(value: date | str | None) -> date | None:
    """A date from a date, an ISO string or None (ValueError otherwise)."""
    return to_date(value)


def client_for(tenant: TenantConfig, options: ExtractOptions) -> IndigitallClient:
    """A client for the tenant's regional host and key (ConfigError-like ValueError without a key)."""
    key = tenant.server_key()
    if key is None:
        raise ValueError(f"no ServerKey for tenant {tenant.id!r}: set the env var {tenant.server_key_env}")
    config = ClientConfig(concurrency=options.concurrency, history_limit=options.history_page_limit)
    return IndigitallClient(tenant.base_url, key, config=config)


class Extractor:
    """One named extractor: a list of entity specs; `run()` returns a StepResult."""

    name: ClassVar[str] = ""

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(
        self,
        *,
        tenant_id: str | None = None,
        application_id: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        run_id: str | None = None,
        mode: str = "incremental",
        client: IndigitallClient | None = None,
        options: ExtractOptions | None = None,
        now: datetime | None = None,
    ) -> StepResult:
        """Extract this tenant's data into raw.*; required failures become errors, optional ones warnings.

        Dates are the tenant's local days; `now` (UTC) overrides the clock (tests, benchmarks)."""
        started = time.perf_counter()
        tenant = get_tenant(tenant_id)
        result = StepResult(step=f"extract_{self.name}", tenant_id=tenant.id)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        options = options or ExtractOptions.from_env()
        start, end = as_date(date_from), as_date(date_to)
        if start and end and end < start:
            raise ValueError(f"date_to {end} is before date_from {start}")
        own_client = client is None
        try:
            client = client or client_for(tenant, options)
        except ValueError as exc:
            result.errors.append(str(exc))
            return result
        run_id = run_id or new_run_id()
        result.metrics["run_id"] = run_id
        try:
            ensure_tenant(tenant)
            app_ids = self._app_ids(tenant, application_id, client, result)
            if app_ids:
                run_specs(
                    result,
                    self.specs(options),
                    tenant=tenant,
                    app_ids=app_ids,
                    client=client,
                    options=options,
                    run_id=run_id,
                    mode=mode,
                    date_from=start,
                    date_to=end,
                    now=now,
                )
        finally:
            if own_client:
                client.close()
            result.duration_s = round(time.perf_counter() - started, 3)
        return result

    @staticmethod
    def _app_ids(
        tenant: TenantConfig, application_id: str | None, client: IndigitallClient, result: StepResult
    ) -> list[str]:
        if application_id:
            return [str(application_id)]
        if tenant.application_ids:
            return list(tenant.application_ids)
        try:  # no id configured: every application the key can see
            ids = [str(a["id"]) for page in client.applications() for a in page.items if "id" in a]
        except ApiError as exc:
            result.errors.append(f"cannot list applications to find an application id: {exc}")
            return []
        if not ids:
            result.errors.append(
                "no application id configured (INDIGITALL_APP_ID) and none visible to the key"
            )
        return ids
