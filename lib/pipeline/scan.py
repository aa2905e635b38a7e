"""Secret scan: no archived file may contain a configured secret's literal value.

A hit sends the file to the quarantine folder instead of the archive; messages name the step and the
file, never the secret.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

from lib.config import secret_values


class SecretLeak(RuntimeError):
    """An output holds a secret value (the message names where, never what)."""


def current_secrets() -> list[str]:
    """The literal values to look for (settings, tenants' keys, DB password)."""
    return secret_values()


def _forms(secret: str) -> set[str]:
    """The secret as written raw, inside a JSON string, and HTML-escaped."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=True),
        html.escape(secret, quote=False),
    }


def contains_secret(data: str | bytes, secrets: Sequence[str]) -> bool:
    """True when any secret occurs in `data` (raw, JSON-escaped or HTML-escaped)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return any(form in data for s in secrets for form in _forms(s))


def quarantine(data: bytes, folder: Path, name: str) -> Path:
    """Write `data` to `folder/name` (0700 folder, written once; a numbered name if taken)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path, n = folder / name, 1
    while True:
        try:
            with open(path, "xb") as fh:
                fh.write(data)
            os.chmod(path, 0o600)
            return path
        except FileExistsError:
            n += 1
            path = folder / f"{name}.{n}"
