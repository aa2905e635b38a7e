"""The optional channel stats upstream is known to fail on: e-mail (no working endpoint, 404) →
raw.raw_email_stats and in-app (500) → raw.raw_inapp_stats. One dated endpoint each, fetched with few
retries; a failure is recorded in extraction_log and sync_state, warned, then skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import ClassVar

from lib.api import ApiResponse, IndigitallClient, RetryPolicy, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, FetchFn, Task
from lib.extract.options import ExtractOptions

StatsCall = Callable[
    ..., ApiResponse
]  # IndigitallClient.<x>_stats(client, app_id, date_from, date_to, retry=)


def fetch_optional(stats: StatsCall) -> FetchFn:
    """A fetch of one window's stats through the client method `stats`, with few retries."""

    def fetch(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
        assert task.window is not None
        policy: RetryPolicy = replace(client.config.retry, max_attempts=options.optional_max_attempts)
        date_from, date_to = task.window
        yield stats(client, task.app_id, date_from, date_to, retry=policy)

    return fetch


class OptionalStatsExtractor(Extractor):
    """One optional dated stats endpoint (subclasses name the entity, raw table, endpoint and call)."""

    entity: ClassVar[str]
    raw_table: ClassVar[str]
    endpoint: ClassVar[str]
    stats: ClassVar[StatsCall]

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        fetch = fetch_optional(type(self).stats)
        return [EntitySpec(self.entity, self.raw_table, self.endpoint, fetch, kind="dated")]


class EmailExtractor(OptionalStatsExtractor):
    """Email stats (optional)."""

    name = "email"
    entity, raw_table, endpoint = "email_stats", "raw_email_stats", endpoints.EMAIL_STATS
    stats = IndigitallClient.email_stats


class InAppExtractor(OptionalStatsExtractor):
    """In-app stats (optional)."""

    name = "inapp"
    entity, raw_table, endpoint = "inapp_stats", "raw_inapp_stats", endpoints.INAPP_STATS
    stats = IndigitallClient.inapp_stats
