"""The `/v1/chat/history/csv` body: UTF-8 whatever the headers say, RFC 4180, empty field → None."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import orjson

from lib.api.errors import CsvFormatError

HISTORY_COLUMNS: tuple[str, ...] = (
    "messageId", "messageDate", "sendType", "contentType", "status", "statusAt",
    "channelExternalId", "error", "content", "scheduleAt", "integration", "channel",
    "profileName", "contactId", "agentConversationId", "agentQueuedAt", "agentAssignedAt",
    "agentClosedAt", "agentCloseReason", "agentId", "dfIntentId", "dfIntentName",
    "isFallback", "sendingId",
)  # fmt: skip

ENDPOINT = "/v1/chat/history/csv"


@dataclass
class HistoryCsv:
    """A parsed page: the header as sent (known columns first, unknown extras kept) and the rows."""

    header: list[str]
    rows: list[dict[str, str | None]]
    extra_columns: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def to_source_data(self, page: int, limit: int) -> dict[str, Any]:
        """The raw-row form of docs/contracts.md: format, header, rows, page, limit."""
        return {"format": "csv", "header": self.header, "rows": self.rows, "page": page, "limit": limit}

    def to_source_json(self, page: int, limit: int) -> str:
        """`to_source_data` as JSON text (orjson: a week's page is ~7 MB, where json.dumps costs 10x)."""
        return orjson.dumps(self.to_source_data(page, limit)).decode()


def decode_utf8(content: bytes) -> str:
    """Bytes → text as UTF-8 (a BOM tolerated), ignoring any charset the server claims or omits."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{ENDPOINT}: body is not valid UTF-8 at byte {exc.start}", endpoint=ENDPOINT
        ) from None


def parse_history_csv(content: bytes | str, *, endpoint: str = ENDPOINT) -> HistoryCsv:
    """Parse one CSV page; a missing known column or a ragged row is a `CsvFormatError`."""
    text = decode_utf8(content) if isinstance(content, bytes) else content
    if not text.strip():
        return HistoryCsv(header=list(HISTORY_COLUMNS), rows=[])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        missing = [c for c in HISTORY_COLUMNS if c not in header]
        if missing:
            raise CsvFormatError(
                f"{endpoint}: CSV header lacks {len(missing)} expected column(s): {', '.join(missing)}",
                endpoint=endpoint,
            )
        if len(set(header)) != len(header):
            raise CsvFormatError(f"{endpoint}: CSV header repeats a column name", endpoint=endpoint)
        width = len(header)
        rows: list[dict[str, str | None]] = []
        for values in reader:
            if not values:  # a blank line (e.g. a trailing CRLF pair)
                continue
            if len(values) != width:
                raise CsvFormatError(
                    f"{endpoint}: CSV line {reader.line_num} has {len(values)} fields, expected {width}",
                    endpoint=endpoint,
                )
            rows.append({k: (v if v != "" else None) for k, v in zip(header, values, strict=True)})
    except csv.Error as exc:
        raise CsvFormatError(
            f"{endpoint}: malformed CSV near line {reader.line_num}: {exc}", endpoint=endpoint
        ) from None
    extras = [c for c in header if c not in HISTORY_COLUMNS]
    return HistoryCsv(header=header, rows=rows, extra_columns=extras)
