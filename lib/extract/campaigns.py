"""CampaignsExtractor → raw.raw_campaigns_api: `/v1/campaign`, all pages."""

from __future__ import annotations

from collections.abc import Iterator

from lib.api import ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_campaigns(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Every campaign page of the application."""
    yield from client.campaigns(task.app_id)


class CampaignsExtractor(Extractor):
    """Campaigns (required), a snapshot fetched whole each run."""

    name = "campaigns"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [EntitySpec("campaigns", "raw_campaigns_api", endpoints.CAMPAIGNS, fetch_campaigns,
                           required=True, weight=2)]  # fmt: skip
