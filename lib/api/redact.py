"""Keep the ServerKey out of everything rendered: auth is attached at send time, headers are masked."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SENSITIVE_PARAMS = frozenset({"serverkey", "server_key", "key", "apikey", "api_key", "token", "access_token"})
MASK = "[redacted]"


class ServerKeyAuth(httpx.Auth):
    """`Authorization: ServerKey <key>`, built only when the request is sent; repr shows no key."""

    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"ServerKey {self._key.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "ServerKeyAuth(key=**********)"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with credentials masked."""
    return {k: (MASK if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def safe_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query params fit for logs and raw rows: any credential-like name is masked."""
    return {k: (MASK if k.lower() in SENSITIVE_PARAMS else v) for k, v in (params or {}).items()}


def render_request(request: httpx.Request) -> str:
    """`GET https://host/path?q headers={...}` with the Authorization header masked."""
    return f"{request.method} {request.url} headers={redact_headers(request.headers)}"


def scrub(text: str, *secrets: SecretStr | str | None) -> str:
    """Replace any literal secret inside `text` (last line of defence for third-party messages)."""
    for secret in secrets:
        if secret is None:
            continue
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            text = text.replace(value, MASK)
    return text
