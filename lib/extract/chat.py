"""ChatExtractor → raw.raw_chat_stats: history CSV, agent conversations, status and chat metadata."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lib.api import (
    CONVERSATIONS_WINDOW_DAYS,
    HISTORY_WINDOW_DAYS,
    ApiResponse,
    IndigitallClient,
    endpoints,
)
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions

log = logging.getLogger(__name__)


def fetch_history(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Every CSV page of one ≤7-day window: kept as sent (v2), or parsed into rows (v1)."""
    assert task.window is not None
    pages = client.history_pages if options.history_format == 2 else client.history_csv
    yield from pages(task.app_id, *task.window, limit=options.history_page_limit)


def fetch_conversations(
    client: IndigitallClient, task: Task, options: ExtractOptions
) -> Iterator[ApiResponse]:
    """Every agent's sessions of one ≤30-day window (`email=` empty, `limit=50000`)."""
    assert task.window is not None
    response = client.agent_conversations(task.app_id, *task.window, limit=options.conversations_limit)
    if response.size >= options.conversations_limit:
        log.warning("%s: %d sessions = the limit; the window may be truncated", task.label(), response.size)
    yield response


def _single(kind: str):
    def fetch(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
        if kind == "status":
            yield client.agent_status(task.app_id)
        else:
            yield client.chat_metadata(task.app_id, kind)

    fetch.__doc__ = f"The `{kind}` snapshot."
    return fetch


class ChatExtractor(Extractor):
    """Messages (required), agent sessions (required), channels; agent status, configuration, topics
    and integrations feed no table of their own and share the `chat_stats` sync_state row."""

    name = "chat"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [
            EntitySpec("messages", "raw_chat_stats", endpoints.HISTORY_CSV, fetch_history,
                       required=True, kind="dated", window_days=HISTORY_WINDOW_DAYS, weight=10,
                       local_days=True, split_recent=True, coverage=True),
            EntitySpec("chat_conversations", "raw_chat_stats", endpoints.AGENT_CONVERSATIONS,
                       fetch_conversations, required=True, kind="dated",
                       window_days=CONVERSATIONS_WINDOW_DAYS, weight=5,
                       local_days=True, split_recent=True, coverage=True),
            EntitySpec("chat_channels", "raw_chat_stats", endpoints.CHAT_CHANNEL, _single("channel")),
            EntitySpec("chat_agent_status", "raw_chat_stats", endpoints.AGENT_STATUS, _single("status"), entity="chat_stats"),
            EntitySpec("chat_config", "raw_chat_stats", endpoints.CHAT_CONFIGURATION, _single("configuration"), entity="chat_stats"),
            EntitySpec("chat_topics", "raw_chat_stats", endpoints.CHAT_TOPIC, _single("topic"), entity="chat_stats"),
            EntitySpec("chat_integrations", "raw_chat_stats", endpoints.CHAT_INTEGRATION, _single("integration"), entity="chat_stats"),
        ]  # fmt: skip
