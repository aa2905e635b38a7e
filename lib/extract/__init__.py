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

from lib.extract.applications import ApplicationsExtractor
from lib.extract.base import Extractor, new_run_id
from lib.extract.campaigns import CampaignsExtractor
from lib.extract.chat import ChatExtractor
from lib.extract.contacts import ContactsExtractor
from lib.extract.optional_stats import EmailExtractor, InAppExtractor
from lib.extract.options import ExtractOptions
from lib.extract.push import PushExtractor
from lib.extract.registry import EXTRACTOR_CLASSES, EXTRACTORS, run_extractor
from lib.extract.sms import SmsExtractor
from lib.extract.stage import run_extractors

__all__ = [
    "EXTRACTORS", "EXTRACTOR_CLASSES", "ApplicationsExtractor", "CampaignsExtractor", "ChatExtractor",
    "ContactsExtractor", "EmailExtractor", "ExtractOptions", "Extractor", "InAppExtractor", "PushExtractor",
    "SmsExtractor", "new_run_id", "run_extractor",
    "run_extractors",
]  # fmt: skip
