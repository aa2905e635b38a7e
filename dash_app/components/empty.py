"""The empty state: a clear message instead of a broken or blank chart."""

from __future__ import annotations

import plotly.graph_objects as go

from dash_app.components.theme import NEUTRAL

NO_DATA = "Sin datos para este periodo"


def empty_figure(message: str = NO_DATA, height: int = 320) -> go.Figure:
    """A blank figure with a centred message (no axes)."""
    fig = go.Figure()
    fig.update_layout(
        height=height,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 15, "color": NEUTRAL},
            }
        ],
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    fig.update_layout(meta={"empty": True})
    return fig


def is_empty_figure(fig: go.Figure | dict) -> bool:
    """True for figures built by `empty_figure` (tests, screenshots)."""
    layout = fig.get("layout", {}) if isinstance(fig, dict) else fig.to_plotly_json()["layout"]
    return bool((layout.get("meta") or {}).get("empty"))
