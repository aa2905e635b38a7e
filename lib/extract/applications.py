"""ApplicationsExtractor → raw.raw_applications: `/v1/application` (all pages) + `/v1/application/stats`."""

from __future__ import annotations

from collections.abc import Iterator

from lib.api import ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_applications(
    client: IndigitallClient, task: Task, options: ExtractOptions
) -> Iterator[ApiResponse]:
    """The account's application list (once, with the primary application) and this app's stats."""
    if task.primary:
        yield from client.applications()
    yield from client.application_stats(task.app_id)


class ApplicationsExtractor(Extractor):
    """Application metadata and totals (entity `applications`, optional)."""

    name = "applications"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [EntitySpec("applications", "raw_applications", endpoints.APPLICATIONS, fetch_applications)]
