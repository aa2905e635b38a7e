"""KPI values with their previous-period comparison and target (pure logic, no Dash)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dash_app.components.theme import fmt_int, fmt_pct, fmt_seconds
from lib.analysis.kpis import FALLBACK_TARGET, KPIS, WAIT_TARGET_S, ratio

Kind = Literal["count", "rate", "seconds", "ratio"]
TargetOp = Literal["<", "<=", ">", ">="]


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)  # Decimal, int, numpy
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class Kpi:
    """One KPI card's content."""

    key: str
    label: str
    value: float | None
    previous: float | None = None
    kind: Kind = "count"
    up_is_good: bool | None = True
    target: float | None = None
    target_op: TargetOp | None = None
    detail: str | None = None
    help: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _num(self.value))
        object.__setattr__(self, "previous", _num(self.previous))

    def format(self, value: float | None) -> str:
        if self.kind == "rate":
            return fmt_pct(value)
        if self.kind == "seconds":
            return fmt_seconds(value)
        if self.kind == "ratio":
            return "—" if value is None else f"{value:.2f}".replace(".", ",")
        return fmt_int(value)

    @property
    def value_text(self) -> str:
        return self.format(self.value)

    @property
    def delta(self) -> float | None:
        """Rates: difference in points (0..1 scale); others: relative change; None if not comparable."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == "rate":
            return self.value - self.previous
        if self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)

    @property
    def _flat(self) -> bool:
        """A change that rounds to 0.0 (% or pp) is shown, and coloured, as no change."""
        d = self.delta
        return d is not None and abs(d) * 100 < 0.05

    @property
    def delta_text(self) -> str:
        d = self.delta
        if d is None:
            return "sin comparación"
        arrow = "■" if self._flat else ("▲" if d > 0 else "▼")
        if self.kind == "rate":
            return f"{arrow} {abs(d) * 100:.1f} pp".replace(".", ",")
        return f"{arrow} {abs(d) * 100:.1f} %".replace(".", ",")

    @property
    def trend_good(self) -> bool | None:
        """True/False when the change is good/bad given `up_is_good`; None if neutral or flat."""
        d = self.delta
        if d is None or self.up_is_good is None or self._flat:
            return None
        return (d > 0) == self.up_is_good

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.target_op is None or self.value is None:
            return None
        v, t = self.value, self.target
        return {"<": v < t, "<=": v <= t, ">": v > t, ">=": v >= t}[self.target_op]

    @property
    def target_text(self) -> str | None:
        if self.target is None or self.target_op is None:
            return None
        op = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}[self.target_op]
        return f"Meta {op} {self.format(self.target)}"


def card(key: str, cur: dict, prev: dict, *, kpi: str | None = None, **overrides: object) -> Kpi:
    """The card `key` of KPI `kpi` (default `key`): label, kind, direction and target from
    lib.analysis.kpis.KPIS; the value is `cur[kpi]` against `prev[kpi]`."""
    vk = kpi or key
    d = KPIS[vk]
    fields: dict = {
        "label": d.label, "kind": d.kind, "up_is_good": d.up_is_good, "target": d.target,
        "target_op": d.target_op, "help": d.help or None,
    }  # fmt: skip
    fields.update(overrides)
    return Kpi(key, value=cur.get(vk), previous=prev.get(vk), **fields)  # type: ignore[arg-type]


def containment_kpi(cur: dict, prev: dict, label: str = "Contención") -> Kpi:
    """Bot containment (up is good): no human and never queued for an agent."""
    return card("containment", cur, prev, label=label)


def fallback_kpi(cur: dict, prev: dict) -> Kpi:
    """Fallback rate against its < 15 % target (down is good)."""
    return card("fallback", cur, prev, kpi="fallback_rate")


__all__ = [
    "FALLBACK_TARGET",
    "KPIS",
    "WAIT_TARGET_S",
    "Kpi",
    "card",
    "containment_kpi",
    "fallback_kpi",
    "ratio",
]
