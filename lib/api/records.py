"""What one HTTP attempt did, reported to the `on_call` callback (and kept on responses/errors)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt: `path` is the template (`/v1/application/{id}/dateStats`), params carry no secret."""

    method: str
    path: str
    params: dict[str, Any]
    status: int | None
    attempt: int
    duration_ms: int
    bytes: int
    error: str | None
    started_at: datetime
    url_path: str = field(default="", compare=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx answer with no client-side error."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (datetime kept as is)."""
        return asdict(self)
