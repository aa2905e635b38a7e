"""The result every pipeline step (extract, transform, dbt) returns, and its failure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class StepFailed(RuntimeError):
    """A step finished but could not do its job; the message says what and where."""


@dataclass
class StepResult:
    """What one step did: calls made, rows read and written, rejects with a sample, errors."""

    step: str
    tenant_id: str
    calls: int = 0
    rows_in: int = 0
    rows_out: int = 0
    rejects: int = 0
    reject_samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the step has no errors (warnings and rejects do not fail a step)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for the manifest, the ledger and papermill's scrapbook)."""
        d = asdict(self)
        d["ok"] = self.ok
        return d

    def summary_frame(self):  # -> pandas.DataFrame (imported lazily: notebooks pay for it anyway)
        """A short two-column table for the notebook's summary cell."""
        import pandas as pd

        rows: list[tuple[str, Any]] = [
            ("step", self.step),
            ("tenant", self.tenant_id),
            ("status", "ok" if self.ok else "FAILED"),
            ("API calls", self.calls),
            ("rows in", self.rows_in),
            ("rows out", self.rows_out),
            ("rejects", self.rejects),
            ("duration (s)", round(self.duration_s, 3)),
        ]
        rows += [(f"metric: {k}", v) for k, v in self.metrics.items() if not isinstance(v, dict | list)]
        rows += [("warning", w) for w in self.warnings[:10]]
        rows += [("error", e) for e in self.errors[:10]]
        return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")

    def raise_for_failure(self) -> StepResult:
        """Raise StepFailed listing the errors; return self when ok (so calls can chain)."""
        if self.errors:
            listed = "; ".join(self.errors[:5])
            more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
            raise StepFailed(f"step {self.step!r} for tenant {self.tenant_id!r} failed: {listed}{more}")
        return self
