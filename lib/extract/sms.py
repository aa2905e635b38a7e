"""SmsExtractor → raw.raw_sms_stats: v2 daily stats (≤99-day windows), campaigns and sendings."""

from __future__ import annotations

from collections.abc import Iterator

from lib.api import SMS_WINDOW_DAYS, ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_sms_stats(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Daily SMS stats of one ≤99-day window."""
    assert task.window is not None
    yield client.sms_stats(task.app_id, *task.window)


def fetch_sms_campaigns(
    client: IndigitallClient, task: Task, options: ExtractOptions
) -> Iterator[ApiResponse]:
    """Every SMS campaign page."""
    yield from client.sms_campaigns(task.app_id)


def fetch_sms_sends(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Every SMS sending page."""
    yield from client.sms_sends(task.app_id)


class SmsExtractor(Extractor):
    """SMS (all optional): daily stats, campaigns and sends, one sync_state row `sms_stats`."""

    name = "sms"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [
            EntitySpec("sms_stats", "raw_sms_stats", endpoints.SMS_STATS, fetch_sms_stats,
                       kind="dated", window_days=SMS_WINDOW_DAYS),
            EntitySpec("sms_campaigns", "raw_sms_stats", endpoints.SMS_CAMPAIGNS, fetch_sms_campaigns,
                       entity="sms_stats"),
            EntitySpec("sms_sends", "raw_sms_stats", endpoints.SMS_SENDS, fetch_sms_sends, entity="sms_stats"),
        ]  # fmt: skip
