"""History CSV format: the 24 columns, RFC 4180 quoting, LF line ends, UTF-8 without BOM."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

HISTORY_COLUMNS: tuple[str, ...] = (
    "messageId",
    "messageDate",
    "sendType",
    "contentType",
    "status",
    "statusAt",
    "channelExternalId",
    "error",
    "content",
    "scheduleAt",
    "integration",
    "channel",
    "profileName",
    "contactId",
    "agentConversationId",
    "agentQueuedAt",
    "agentAssignedAt",
    "agentClosedAt",
    "agentCloseReason",
    "agentId",
    "dfIntentId",
    "dfIntentName",
    "isFallback",
    "sendingId",
)

HEADER_LINE = ",".join(HISTORY_COLUMNS) + "\n"
_SPECIAL = frozenset(',"\r\n')


def quote_field(value: str | None) -> str:
    """One field: None/"" -> empty; quoted (quotes doubled) when it holds , " CR or LF."""
    if not value:
        return ""
    if _SPECIAL.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def format_line(values: Sequence[str | None]) -> str:
    """One CSV record terminated by LF."""
    plain = _SPECIAL.isdisjoint
    return (
        ",".join([(v if plain(v) else '"' + v.replace('"', '""') + '"') if v else "" for v in values]) + "\n"
    )


def format_csv(lines: Iterable[str]) -> str:
    """Header plus already formatted records."""
    return HEADER_LINE + "".join(lines)
