"""PushExtractor → raw.raw_push_stats: `dateStats` (daily), `pushHeatmap`, `stats/device` (7-day windows)."""

from __future__ import annotations

from collections.abc import Iterator

from lib.api import DEVICE_WINDOW_DAYS, ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_date_stats(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Daily push stats per platform of one window."""
    assert task.window is not None
    yield client.date_stats(task.app_id, *task.window, periodicity="daily")


def fetch_heatmap(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """The click-rate heatmap over the trailing period."""
    assert task.window is not None
    yield client.push_heatmap(task.app_id, *task.window)


def fetch_devices(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Device stats of one 7-day window."""
    assert task.window is not None
    yield client.device_stats(task.app_id, *task.window)


class PushExtractor(Extractor):
    """toques_daily (required), toques_heatmap and device stats (optional; sync_state `push_stats`)."""

    name = "push"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [
            EntitySpec("toques_daily", "raw_push_stats", endpoints.DATE_STATS, fetch_date_stats, required=True,
                       kind="dated", window_days=options.date_stats_window_days, weight=2, coverage=True),
            EntitySpec("toques_heatmap", "raw_push_stats", endpoints.PUSH_HEATMAP, fetch_heatmap,
                       kind="dated", rule="trailing"),
            EntitySpec("device_stats", "raw_push_stats", endpoints.DEVICE_STATS, fetch_devices,
                       kind="dated", window_days=DEVICE_WINDOW_DAYS, entity="push_stats"),
        ]  # fmt: skip
