"""InAppExtractor → raw.raw_inapp_stats. Upstream answers 500: logged, warned, skipped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from lib.api import ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_inapp(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """In-app stats over the range, with few retries (the endpoint is known to fail)."""
    assert task.window is not None
    policy = replace(client.config.retry, max_attempts=options.optional_max_attempts)
    yield client.inapp_stats(task.app_id, *task.window, retry=policy)


class InAppExtractor(Extractor):
    """In-app stats (optional): a failure is recorded in extraction_log and sync_state, then skipped."""

    name = "inapp"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [
            EntitySpec("inapp_stats", "raw_inapp_stats", endpoints.INAPP_STATS, fetch_inapp, kind="dated")
        ]
