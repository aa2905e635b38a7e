"""Palette (kpis.md), the plotly template every chart uses, and number formatting (es)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from lib.analysis.fmt import fmt_int, fmt_pct, fmt_seconds, missing

__all__ = ["fmt_int", "fmt_ms", "fmt_pct", "fmt_seconds", "register_template"]

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


def fmt_ms(value: float | None) -> str:
    """Milliseconds as a duration ('—' when missing)."""
    return "—" if missing(value) else fmt_seconds(float(value) / 1000.0)  # type: ignore[arg-type]
