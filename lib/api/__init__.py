"""Indigitall REST API client: retries, rate limit, paging, history CSV, typed errors, call records."""

from lib.api import endpoints
from lib.api.client import ApiResponse, ClientConfig, IndigitallClient
from lib.api.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    CsvFormatError,
    ForbiddenError,
    NotFoundError,
    PagingError,
    RateLimitedError,
    ResponseFormatError,
    RetryExhaustedError,
    ServerError,
    TransportError,
    WindowTooLargeError,
)
from lib.api.history_csv import HISTORY_COLUMNS, HistoryCsv, parse_history_csv
from lib.api.paging import (
    CONVERSATIONS_WINDOW_DAYS,
    DEVICE_WINDOW_DAYS,
    HISTORY_WINDOW_DAYS,
    SMS_WINDOW_DAYS,
    date_windows,
    iter_cursor,
    iter_pages,
)
from lib.api.ratelimit import TokenBucket
from lib.api.records import CallRecord
from lib.api.redact import redact_headers, render_request, safe_params
from lib.api.retry import (
    DEFAULT_RETRY,
    Backoff,
    RetryPolicy,
    parse_retry_after,
    retry_any,
    retry_on_exception,
    retry_on_status,
)

__all__ = [
    "CONVERSATIONS_WINDOW_DAYS", "DEFAULT_RETRY", "DEVICE_WINDOW_DAYS", "HISTORY_COLUMNS",
    "HISTORY_WINDOW_DAYS", "SMS_WINDOW_DAYS", "ApiError", "ApiResponse", "AuthError",
    "Backoff", "BadRequestError", "CallRecord", "ClientConfig", "CsvFormatError", "ForbiddenError",
    "HistoryCsv", "IndigitallClient", "NotFoundError", "PagingError", "RateLimitedError",
    "ResponseFormatError", "RetryExhaustedError", "RetryPolicy", "ServerError", "TokenBucket",
    "TransportError", "WindowTooLargeError", "date_windows", "endpoints", "iter_cursor", "iter_pages",
    "parse_history_csv", "parse_retry_after", "redact_headers", "render_request", "retry_any",
    "retry_on_exception", "retry_on_status", "safe_params",
]  # fmt: skip
