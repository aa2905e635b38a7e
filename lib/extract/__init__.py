"""Extractors: fill raw.* from the Indigitall API (one raw row per response, logged, resumable).

`run_extractor(name, ...)` is the entry point of the extract notebooks; `EXTRACTORS` lists the
names in run order; `run_extractors(names, ...)` runs several at once on one shared client.
sync_state entities per extractor:

| extractor | sync_state entities (required ones starred) |
|---|---|
| applications | applications |
| chat | messages*, chat_conversations*, chat_channels, chat_stats (agent status, configuration, topics, integrations) |
| contacts | contacts* (cursor = last contact id; read again from the first id once a day) |
| push | toques_daily*, toques_heatmap, push_stats (device stats) |
| campaigns | campaigns* |
| sms | sms_stats (daily stats, campaigns, sends) |
| email | email_stats |
| inapp | inapp_stats |

An entity names the table its endpoint feeds; endpoints that feed none share their raw table's
subject (`chat_stats`, `push_stats`, `sms_stats`), one row merged over them (see `merged_state_rows`).

`last_cursor` is the ISO date through which the data are complete (dated entities; never past
the sync's start date; the tenant's local date for messages and chat_conversations), the run date
for snapshots, or the last contact id.

Raw v2 (issue 16): dates are the tenant's local days (history and agent sessions are fetched for
the UTC dates covering them); windows are aligned so a re-read asks what was asked before, and an
identical response is logged (`repeated`) instead of stored; history pages keep their CSV text
(a day still filling as a line delta); `public.data_coverage` records the complete local days;
values JSONB cannot hold are escaped losslessly (`lib.extract.escape`).
"""

from __future__ import annotations

from datetime import date, datetime

from lib.api import IndigitallClient
from lib.extract.applications import ApplicationsExtractor
from lib.extract.base import Extractor, new_run_id
from lib.extract.campaigns import CampaignsExtractor
from lib.extract.chat import ChatExtractor
from lib.extract.contacts import ContactsExtractor
from lib.extract.email import EmailExtractor
from lib.extract.inapp import InAppExtractor
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


from lib.extract.stage import run_extractors  # noqa: E402 - needs run_extractor defined above

__all__ = [
    "EXTRACTORS", "EXTRACTOR_CLASSES", "ApplicationsExtractor", "CampaignsExtractor", "ChatExtractor",
    "ContactsExtractor", "EmailExtractor", "ExtractOptions", "Extractor", "InAppExtractor", "PushExtractor",
    "SmsExtractor", "new_run_id", "run_extractor",
    "run_extractors",
]  # fmt: skip
