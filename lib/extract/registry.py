"""The extractors by name, in run order, and `run_extractor(name, ...)` (re-exported by `lib.extract`)."""

from __future__ import annotations

from datetime import date, datetime

from lib.api import IndigitallClient
from lib.extract.applications import ApplicationsExtractor
from lib.extract.base import Extractor
from lib.extract.campaigns import CampaignsExtractor
from lib.extract.chat import ChatExtractor
from lib.extract.contacts import ContactsExtractor
from lib.extract.optional_stats import EmailExtractor, InAppExtractor
from lib.extract.options import ExtractOptions
from lib.extract.push import PushExtractor
from lib.extract.sms import SmsExtractor
from lib.steps import StepResult

EXTRACTOR_CLASSES: dict[str, type[Extractor]] = {
    cls.name: cls
    for cls in (
        ApplicationsExtractor, ChatExtractor, ContactsExtractor, PushExtractor, CampaignsExtractor,
        SmsExtractor, EmailExtractor, InAppExtractor,
    )
}  # fmt: skip
EXTRACTORS: tuple[str, ...] = tuple(EXTRACTOR_CLASSES)


def run_extractor(
    name: str,
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
    """Run one extractor by name (see `EXTRACTORS`) and return its StepResult.

    `date_from`/`date_to` are the tenant's local days; `now` (UTC) overrides the clock for tests."""
    try:
        cls = EXTRACTOR_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown extractor {name!r}; expected one of {', '.join(EXTRACTORS)}") from None
    return cls().run(
        tenant_id=tenant_id, application_id=application_id, date_from=date_from, date_to=date_to,
        run_id=run_id, mode=mode, client=client, options=options, now=now,
    )  # fmt: skip
