"""Typed errors of the Indigitall client.

Every message names the endpoint (the path template) and never holds the ServerKey: errors are
built from the status, the server's `message` field and our own words only, never from headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.api.records import CallRecord


class ApiError(Exception):
    """Base of every client error: `endpoint`, `status` (None without a response), `calls`."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        params: dict[str, Any] | None = None,
        calls: list[CallRecord] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.params = dict(params or {})
        self.calls: list[CallRecord] = list(calls or [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, status={self.status!r}, message={self.message!r})"


class BadRequestError(ApiError):
    """400: a missing or malformed parameter (not retried)."""


class AuthError(ApiError):
    """401: the ServerKey is not valid here (a key used on another region's host also gives 401)."""


class ForbiddenError(ApiError):
    """403 other than the date-span rule (not retried)."""


class WindowTooLargeError(ForbiddenError):
    """403 "Operation forbidden, more 7 days": the requested date span is too long."""


class NotFoundError(ApiError):
    """404: unknown route, or a route not open to ServerKeys."""


class RetryExhaustedError(ApiError):
    """Retries used up (or a wait longer than allowed) on a retryable failure."""


class ServerError(RetryExhaustedError):
    """5xx, still failing after the retries."""


class RateLimitedError(RetryExhaustedError):
    """429, still limited after the retries or asked to wait longer than the configured maximum."""


class TransportError(RetryExhaustedError):
    """Connection refused/dropped, timeout or truncated body, still failing after the retries."""


class PagingError(ApiError):
    """The server repeated a page (it ignores `page`/`lastId`): paging stopped to avoid a loop."""


class CsvFormatError(ApiError):
    """The history CSV is not what we expect (missing columns, broken quoting)."""


class ResponseFormatError(ApiError):
    """A 2xx body that is not the expected JSON envelope."""


def error_for_status(status: int, server_message: str) -> type[ApiError]:
    """The error class for a final non-2xx status."""
    if status == 400:
        return BadRequestError
    if status == 401:
        return AuthError
    if status == 403:
        return WindowTooLargeError if "days" in server_message.lower() else ForbiddenError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return ApiError
