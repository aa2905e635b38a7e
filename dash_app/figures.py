"""Plotly figures for the pages (pure functions of query rows; an empty input → the empty state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go

from dash_app.components.empty import empty_figure
from dash_app.components.theme import (
    DIRECTION_COLORS,
    DIRECTION_LABELS,
    HEAT_SCALE,
    NEUTRAL,
    PLATFORM_COLORS,
    PLATFORM_LABELS,
    PRIMARY,
    SECONDARY,
    WEEKDAYS_ES,
    fmt_int,
    fmt_pct,
)

Rows = Sequence[dict[str, Any]]
DIRECTION_COLUMNS = {
    "Inbound": "inbound_messages",
    "Bot": "bot_messages",
    "Agent": "agent_messages",
    "System": "system_messages",
    "Outbound": "outbound_messages",
}
WAIT_BUCKETS = {1: "< 1 min", 2: "1–5 min", 3: "5–15 min", 4: "15–30 min", 5: "30+ min"}
HOURS = list(range(24))


def _layout(fig: go.Figure, height: int = 320, **kw: Any) -> go.Figure:
    fig.update_layout(height=height, **kw)
    return fig


def mark_partial(fig: go.Figure, days: Sequence[date]) -> go.Figure:
    """Shade the window's partial days (today; days outside data_coverage) so a partly loaded day
    never reads as a real low. Each shape is named `parcial <date>`."""
    if not days or (fig.layout.meta or {}).get("empty"):
        return fig
    for d in days:
        fig.add_vrect(
            x0=datetime.combine(d, time(0)) - timedelta(hours=12), x1=datetime.combine(d, time(0)) + timedelta(hours=12),
            fillcolor=NEUTRAL, opacity=0.18, line_width=0, layer="below", name=f"parcial {d.isoformat()}",
            annotation_text="parcial", annotation_position="top left", annotation_font_size=10,
        )  # fmt: skip
    return fig


def messages_per_day(rows: Rows) -> go.Figure:
    """Stacked bars of messages per day by direction."""
    if not rows or not any((r.get("messages") or 0) for r in rows):
        return empty_figure()
    dates = [r["date"] for r in rows]
    fig = go.Figure()
    for direction, col in DIRECTION_COLUMNS.items():
        values = [int(r.get(col) or 0) for r in rows]
        if any(values):
            fig.add_bar(
                x=dates,
                y=values,
                name=DIRECTION_LABELS[direction],
                marker_color=DIRECTION_COLORS[direction],
                hovertemplate="%{x|%d/%m/%Y}<br>%{y:,} mensajes<extra>"
                + DIRECTION_LABELS[direction]
                + "</extra>",
            )
    fig.update_xaxes(tickformat="%d/%m")
    return _layout(fig, barmode="stack", xaxis_title=None, yaxis_title="Mensajes", bargap=0.15)


def direction_donut(totals: dict[str, Any]) -> go.Figure:
    """Messages by direction (donut)."""
    labels, values, colors = [], [], []
    for direction, col in DIRECTION_COLUMNS.items():
        v = int(totals.get(col) or 0)
        if v:
            labels.append(DIRECTION_LABELS[direction])
            values.append(v)
            colors.append(DIRECTION_COLORS[direction])
    if not values:
        return empty_figure()
    fig = go.Figure(
        go.Pie(
            labels=labels,
            values=values,
            hole=0.62,
            marker={"colors": colors},
            sort=False,
            textinfo="percent",
            hovertemplate="%{label}: %{value:,} (%{percent})<extra></extra>",
        )
    )
    total = sum(values)
    return _layout(
        fig,
        showlegend=True,
        annotations=[
            {
                "text": f"{total:,}".replace(",", ".") + "<br>mensajes",
                "showarrow": False,
                "font": {"size": 14},
            }
        ],
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
    )


def heat_matrix(rows: Rows, value: str = "inbound_messages") -> list[list[float]]:
    """7 × 24 matrix (Monday first) of a value by weekday_num × hour."""
    z = [[0.0] * 24 for _ in range(7)]
    for r in rows:
        wd, h = int(r["weekday_num"]), int(r["hour"])
        if 1 <= wd <= 7 and 0 <= h <= 23:
            z[wd - 1][h] += float(r.get(value) or 0)
    return z


def volume_heatmap(rows: Rows) -> go.Figure:
    """Inbound messages by weekday × hour; cells are clickable (drill-down)."""
    z = heat_matrix(rows)
    if not any(any(row) for row in z):
        return empty_figure()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=HOURS,
            y=WEEKDAYS_ES,
            colorscale=HEAT_SCALE,
            xgap=2,
            ygap=2,
            customdata=[[[wd, h] for h in HOURS] for wd in range(1, 8)],
            hovertemplate="%{y} %{x}:00<br>%{z:,} mensajes entrantes<extra>clic para ver</extra>",
            colorbar={"title": {"text": "Entrantes"}, "thickness": 12},
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(dtick=1, title="Hora (local)")
    return _layout(fig, height=330, margin={"l": 84, "r": 16, "t": 36, "b": 40})


def peak(rows: Rows) -> tuple[int, int, float] | None:
    """(weekday_num, hour, inbound) of the busiest cell."""
    z = heat_matrix(rows)
    best = max(((wd + 1, h, z[wd][h]) for wd in range(7) for h in range(24)), key=lambda t: t[2])
    return best if best[2] > 0 else None


def hourly_bars(rows: Rows) -> go.Figure:
    z = heat_matrix(rows)
    totals = [sum(z[wd][h] for wd in range(7)) for h in HOURS]
    if not any(totals):
        return empty_figure()
    fig = go.Figure(
        go.Bar(
            x=HOURS, y=totals, marker_color=PRIMARY, hovertemplate="%{x}:00 · %{y:,} entrantes<extra></extra>"
        )
    )
    fig.update_xaxes(dtick=2, title="Hora (local)")
    return _layout(fig, height=280, yaxis_title="Mensajes entrantes")


def weekday_bars(rows: Rows) -> go.Figure:
    z = heat_matrix(rows)
    totals = [sum(z[wd]) for wd in range(7)]
    if not any(totals):
        return empty_figure()
    fig = go.Figure(
        go.Bar(
            x=WEEKDAYS_ES,
            y=totals,
            marker_color=SECONDARY,
            hovertemplate="%{x} · %{y:,} entrantes<extra></extra>",
        )
    )
    return _layout(fig, height=280, yaxis_title="Mensajes entrantes")


def wait_buckets(rows: Rows) -> go.Figure:
    counts = {int(r["bucket"]): int(r["sessions"]) for r in rows}
    if not any(counts.values()):
        return empty_figure(height=260)
    labels = list(WAIT_BUCKETS.values())
    values = [counts.get(b, 0) for b in WAIT_BUCKETS]
    colors = [SECONDARY, PRIMARY, NEUTRAL, "#F59E0B", "#EF4444"]
    fig = go.Figure(
        go.Bar(x=labels, y=values, marker_color=colors, hovertemplate="%{x}: %{y:,} sesiones<extra></extra>")
    )
    return _layout(fig, height=260, yaxis_title="Sesiones")


def intents_bars(
    rows: Rows, top: int = 10, value: str = "occurrences", title: str = "Ocurrencias"
) -> go.Figure:
    rows = sorted([r for r in rows if (r.get(value) or 0) > 0], key=lambda r: -(r.get(value) or 0))[:top]
    if not rows:
        return empty_figure()
    rows = rows[::-1]
    fig = go.Figure(
        go.Bar(
            x=[int(r[value]) for r in rows],
            y=[str(r["intent"]) for r in rows],
            orientation="h",
            marker_color=PRIMARY if value == "occurrences" else "#EF4444",
            customdata=[fmt_pct(_share(r.get("escalated"), r.get("occurrences"))) for r in rows],
            hovertemplate="%{y}<br>%{x:,} " + title.lower() + "<br>escaladas: %{customdata}<extra></extra>",
        )
    )
    return _layout(
        fig,
        height=max(260, 28 * len(rows) + 80),
        xaxis_title=title,
        margin={"l": 200, "r": 16, "t": 20, "b": 40},
    )


def _share(num: Any, den: Any) -> float | None:
    return None if not den else float(num or 0) / float(den)


def intents_pareto(rows: Rows, top: int = 10) -> go.Figure:
    """Top intents (bars) with the cumulative share of ALL occurrences (line): the total is the
    query's `total_all` (every intent of the window), not the sum of the rows fetched."""
    rows = sorted([r for r in rows if (r.get("occurrences") or 0) > 0], key=lambda r: -r["occurrences"])
    if not rows:
        return empty_figure()
    total = max(float(rows[0].get("total_all") or 0), sum(r["occurrences"] for r in rows))
    shown = rows[:top]
    cum, running = [], 0
    for r in shown:
        running += r["occurrences"]
        cum.append(running / total)
    fig = go.Figure()
    fig.add_bar(
        x=[str(r["intent"]) for r in shown],
        y=[r["occurrences"] for r in shown],
        name="Conversaciones",
        marker_color=PRIMARY,
        customdata=[fmt_pct(_share(r.get("escalated"), r.get("occurrences"))) for r in shown],
        hovertemplate="%{x}<br>%{y:,} conversaciones<br>terminaron en escalamiento: %{customdata}<extra></extra>",
    )
    fig.add_scatter(
        x=[str(r["intent"]) for r in shown],
        y=cum,
        name="% acumulado (de todos los intents)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": SECONDARY, "width": 2},
        hovertemplate="%{y:.0%} acumulado<extra></extra>",
    )
    return _layout(
        fig,
        height=360,
        yaxis={"title": "Conversaciones"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
            "showgrid": False,
        },
        xaxis={"tickangle": -30, "automargin": True},
        margin={"l": 60, "r": 50, "t": 20, "b": 40},
    )


def rate_lines(rows: Rows, series: dict[str, tuple[str, str, str]], height: int = 300) -> go.Figure:
    """Daily rates Σnum/Σden per day; series = {label: (num_col, den_col, color)}."""
    if not rows:
        return empty_figure(height=height)
    fig = go.Figure()
    for label, (num, den, color) in series.items():
        y = [_share(r.get(num), r.get(den)) for r in rows]
        if any(v is not None for v in y):
            fig.add_scatter(
                x=[r["date"] for r in rows],
                y=y,
                name=label,
                mode="lines+markers",
                line={"color": color, "width": 2},
                marker={"size": 4},
                hovertemplate="%{x|%d/%m}: %{y:.1%}<extra>" + label + "</extra>",
            )
    if not fig.data:
        return empty_figure(height=height)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(tickformat="%d/%m")
    return _layout(fig, height=height)


def push_daily_lines(rows: Rows, metric: str = "ctr") -> go.Figure:
    """A push rate per day and platform (lines)."""
    if not rows or not any((r.get("sent") or 0) for r in rows):
        return empty_figure()
    fig = go.Figure()
    for platform in sorted({r["platform"] for r in rows}):
        prow = [r for r in rows if r["platform"] == platform]
        fig.add_scatter(
            x=[r["date"] for r in prow],
            y=[r.get(metric) for r in prow],
            name=PLATFORM_LABELS.get(platform, platform),
            mode="lines",
            line={"color": PLATFORM_COLORS.get(platform, NEUTRAL), "width": 2},
            hovertemplate="%{x|%d/%m}: %{y:.2%}<extra>"
            + PLATFORM_LABELS.get(platform, platform)
            + "</extra>",
        )
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(tickformat="%d/%m")
    return _layout(fig, height=300)


def push_sent_bars(rows: Rows) -> go.Figure:
    """Push sent per day, stacked by platform."""
    if not rows or not any((r.get("sent") or 0) for r in rows):
        return empty_figure()
    fig = go.Figure()
    for platform in sorted({r["platform"] for r in rows}):
        prow = [r for r in rows if r["platform"] == platform]
        fig.add_bar(
            x=[r["date"] for r in prow],
            y=[r.get("sent") or 0 for r in prow],
            name=PLATFORM_LABELS.get(platform, platform),
            marker_color=PLATFORM_COLORS.get(platform, NEUTRAL),
            hovertemplate="%{x|%d/%m}: %{y:,} enviados<extra>"
            + PLATFORM_LABELS.get(platform, platform)
            + "</extra>",
        )
    fig.update_xaxes(tickformat="%d/%m")
    return _layout(fig, height=300, barmode="stack", yaxis_title="Enviados")


def platform_rates(rows: Rows) -> go.Figure:
    """Delivery, CTR and open rate by platform (grouped bars)."""
    rows = [r for r in rows if (r.get("sent") or 0) > 0]
    if not rows:
        return empty_figure()
    names = [PLATFORM_LABELS.get(r["platform"], r["platform"]) for r in rows]
    fig = go.Figure()
    for label, key, color in (
        ("Entrega", "delivery_rate", PRIMARY),
        ("CTR (÷ enviados)", "ctr", SECONDARY),
        ("Apertura", "open_rate", NEUTRAL),
    ):
        fig.add_bar(
            x=names,
            y=[r.get(key) for r in rows],
            name=label,
            marker_color=color,
            text=[fmt_pct(r.get(key)) for r in rows],
            textposition="outside",
            hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>",
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, height=300, barmode="group")


def push_heatmap(rows: Rows) -> go.Figure:
    """Push CTR (%) by weekday × hour (mean over the canals reporting the cell). Only cells the API
    does not report are hidden; a reported 0 % is a real (bad) send time and is drawn."""
    acc: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        ctr = r.get("ctr")
        if ctr is None or r.get("weekday_num") is None or r.get("hour") is None:
            continue
        acc.setdefault((int(r["weekday_num"]), int(r["hour"])), []).append(float(ctr))
    z: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for (wd, h), vals in acc.items():
        if 1 <= wd <= 7 and 0 <= h <= 23:
            z[wd - 1][h] = sum(vals) / len(vals)
    if not any(v is not None for row in z for v in row):
        return empty_figure()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=HOURS,
            y=WEEKDAYS_ES,
            colorscale=HEAT_SCALE,
            xgap=2,
            ygap=2,
            hoverongaps=False,
            colorbar={"title": {"text": "CTR %"}, "thickness": 12},
            hovertemplate="%{y} %{x}:00 · CTR %{z:.2f} %<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(dtick=1, title="Hora (local)")
    return _layout(fig, height=330, margin={"l": 84, "r": 16, "t": 36, "b": 40})


def funnel_stage_rates(sent: float, delivered: float, opened: float, clicked: float) -> list[float | None]:
    """The rate shown on each funnel stage: the KPI of that stage, with the cards' definitions
    (delivery ÷ sent, open rate ÷ delivered, CTR ÷ sent), never a share of the first stage."""
    from lib.analysis.kpis import ratio

    return [1.0 if sent else None, ratio(delivered, sent), ratio(opened, delivered), ratio(clicked, sent)]


def funnel(sent: int, delivered: int, opened: int, clicked: int) -> go.Figure:
    """Sent → delivered → opened → clicked as horizontal bars (the dashboards load plotly's cartesian
    bundle, 1.5 MB instead of 4.8 MB, which has no funnel trace); each stage shows its KPI's rate."""
    if not sent:
        return empty_figure()
    rates = funnel_stage_rates(sent, delivered, opened, clicked)
    labels = ["", "entrega", "apertura (÷ entregados)", "CTR (÷ enviados)"]
    values = (sent, delivered, opened, clicked)
    text = [fmt_int(v) + (f" · {lab} {fmt_pct(r)}" if lab else "") for v, r, lab in
            zip(values, rates, labels, strict=True)]  # fmt: skip
    fig = go.Figure(
        go.Bar(
            y=["Enviados", "Entregados", "Abiertos", "Clics"],
            x=list(values),
            orientation="h",
            text=text,
            textposition="auto",
            marker={"color": [PRIMARY, "#42A5F5", SECONDARY, "#F59E0B"]},
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=320, margin={"l": 90, "r": 20, "t": 20, "b": 20}, xaxis_title=None)
