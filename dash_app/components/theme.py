"""Palette (kpis.md), the plotly template every chart uses, and number formatting (es)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import plotly.io as pio

PRIMARY = "#1E88E5"
SECONDARY = "#76C043"
NEUTRAL = "#A0A3BD"
ERROR = "#EF4444"
PAGE = "#F5F7FA"
TEXT = "#1A1A2E"
WARNING = "#F59E0B"
# Categorical sequence: primary first, then the rest of the palette and softer tints.
SEQUENCE = [PRIMARY, SECONDARY, NEUTRAL, "#0D47A1", "#F59E0B", "#8E24AA", ERROR, "#26A69A"]
DIRECTION_COLORS = {
    "Inbound": PRIMARY,
    "Bot": SECONDARY,
    "Agent": "#0D47A1",
    "System": NEUTRAL,
    "Outbound": "#F59E0B",
}
DIRECTION_LABELS = {
    "Inbound": "Entrantes",
    "Bot": "Bot",
    "Agent": "Agente",
    "System": "Sistema",
    "Outbound": "Salientes",
}
PLATFORM_LABELS = {"android": "Android", "ios": "iOS", "web": "Web"}
PLATFORM_COLORS = {"android": SECONDARY, "ios": PRIMARY, "web": NEUTRAL}
WEEKDAYS_ES = ["Lunes", "Martes", "Miércoles", "Jueves", "Viernes", "Sábado", "Domingo"]
HEAT_SCALE = [[0.0, "#EEF5FD"], [0.5, "#90C2F2"], [1.0, PRIMARY]]
TEMPLATE_NAME = "indigitall"


def register_template() -> None:
    """Register (once) and select the plotly template with the palette and the page font."""
    if TEMPLATE_NAME in pio.templates:
        pio.templates.default = TEMPLATE_NAME
        return
    template = go.layout.Template(
        layout=go.Layout(
            font={
                "family": "Inter, Segoe UI, Roboto, Helvetica, Arial, sans-serif",
                "color": TEXT,
                "size": 12,
            },
            colorway=SEQUENCE,
            paper_bgcolor="white",
            plot_bgcolor="white",
            margin={"l": 48, "r": 16, "t": 36, "b": 40},
            xaxis={"gridcolor": "#EDF0F5", "zeroline": False, "linecolor": "#D9DEE7"},
            yaxis={"gridcolor": "#EDF0F5", "zeroline": False, "linecolor": "#D9DEE7"},
            legend={"orientation": "h", "y": -0.18, "x": 0},
            hoverlabel={"font": {"family": "Inter, sans-serif"}},
            separators=",.",
        )
    )
    pio.templates[TEMPLATE_NAME] = template
    pio.templates.default = TEMPLATE_NAME


def _is_missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: float | int | None) -> str:
    """12.345 (Spanish thousands separator); '—' when missing."""
    if _is_missing(value):
        return "—"
    return f"{round(float(value)):,}".replace(",", ".")


def fmt_pct(value: float | None, decimals: int = 1) -> str:
    """A ratio 0..1 as '12,3 %'; '—' when missing (zero denominator)."""
    if _is_missing(value):
        return "—"
    return f"{float(value) * 100:.{decimals}f} %".replace(".", ",")


def fmt_seconds(value: float | None) -> str:
    """Durations: '42 s', '3,5 min', '1,2 h'; '—' when missing."""
    if _is_missing(value):
        return "—"
    v = float(value)
    if abs(v) < 90:
        return f"{v:.0f} s"
    if abs(v) < 5400:
        return f"{v / 60:.1f} min".replace(".", ",")
    return f"{v / 3600:.1f} h".replace(".", ",")


def fmt_ms(value: float | None) -> str:
    """Milliseconds as a duration ('—' when missing)."""
    return "—" if _is_missing(value) else fmt_seconds(float(value) / 1000.0)
