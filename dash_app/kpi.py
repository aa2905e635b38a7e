"""KPI values with their previous-period comparison and target (pure logic, no Dash)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dash_app.components.theme import fmt_int, fmt_pct, fmt_seconds

Kind = Literal["count", "rate", "seconds", "ratio"]
TargetOp = Literal["<", "<=", ">", ">="]


def ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    """Σnumerator ÷ Σdenominator; None when the denominator is 0 or missing."""
    if numerator is None or denominator is None:
        return None
    den = float(denominator)
    if den == 0 or math.isnan(den):
        return None
    return float(numerator) / den


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


# Targets of kpis.md, and the cards that more than one page shows.
WAIT_TARGET_S = 60
FALLBACK_TARGET = 0.15


def containment_kpi(cur: dict, prev: dict, label: str = "Contención") -> Kpi:
    """Bot containment: conversations with bot and no human ÷ conversations with bot (up is good)."""
    return Kpi(
        "containment",
        label,
        cur.get("containment_rate"),
        prev.get("containment_rate"),
        kind="rate",
        help="conversaciones con bot y sin humano ÷ conversaciones con bot",
    )


def fallback_kpi(cur: dict, prev: dict) -> Kpi:
    """Fallback rate against its < 15 % target (down is good)."""
    return Kpi(
        "fallback",
        "Tasa de fallback",
        cur.get("fallback_rate"),
        prev.get("fallback_rate"),
        kind="rate",
        up_is_good=False,
        target=FALLBACK_TARGET,
        target_op="<",
        help="fallbacks ÷ mensajes entrantes respondidos por el bot",
    )
