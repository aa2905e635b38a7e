"""EmailExtractor → raw.raw_email_stats. Upstream has no working endpoint (404): logged, warned, skipped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from lib.api import ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_email(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Email stats over the range, with few retries (the endpoint is known to fail)."""
    assert task.window is not None
    policy = replace(client.config.retry, max_attempts=options.optional_max_attempts)
    yield client.email_stats(task.app_id, *task.window, retry=policy)


class EmailExtractor(Extractor):
    """Email stats (optional): a failure is recorded in extraction_log and sync_state, then skipped."""

    name = "email"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [
            EntitySpec("email_stats", "raw_email_stats", endpoints.EMAIL_STATS, fetch_email, kind="dated")
        ]
