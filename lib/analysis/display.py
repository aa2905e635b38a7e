"""Rendering helpers for the analysis notebooks: error boxes, KPI cards, tables and Plotly figures.

Every notebook wraps its work in `guard()`: a failure becomes a readable HTML box
("No se pudieron cargar los datos: <motivo>") instead of a traceback, in JupyterLab and in Voila.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pandas as pd
import plotly.graph_objects as go

log = logging.getLogger(__name__)

PALETTE = {
    "primary": "#1E88E5",
    "secondary": "#76C043",
    "neutral": "#A0A3BD",
    "error": "#EF4444",
    "page": "#F5F7FA",
    "text": "#1A1A2E",
}
SEQUENCE = ["#1E88E5", "#76C043", "#A0A3BD", "#F59E0B", "#8E24AA", "#00ACC1", "#EF4444", "#5C6BC0"]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
DEFAULT_ERROR = "No se pudieron cargar los datos"


class AnalysisError(RuntimeError):
    """A problem an analyst can act on (bad dates, unknown tenant, no marts yet); shown as is."""


def _display(obj: Any, *, raw: bool = False) -> None:
    from IPython.display import display

    display(obj, raw=raw)


def error_html(message: str, reason: str | BaseException | None = None) -> str:
    """The HTML of an error box; the reason is escaped and reduced to one readable line."""
    if isinstance(reason, BaseException):
        reason = describe_error(reason)
    text = f"{message}: {reason}" if reason else message
    return (
        '<div class="bi-error" role="alert" style="border:1px solid #EF4444;background:#FEF2F2;'
        'color:#7F1D1D;padding:12px 16px;border-radius:8px;margin:8px 0;font-family:sans-serif">'
        f"<strong>⚠️ {html.escape(text)}</strong></div>"
    )


def describe_error(exc: BaseException) -> str:
    """One line for an analyst: our own errors verbatim, database errors without the SQL."""
    if isinstance(exc, AnalysisError):
        return str(exc)
    try:
        from sqlalchemy.exc import DBAPIError, OperationalError

        if isinstance(exc, OperationalError):
            return "la base de datos no responde (revise DATABASE_URL o `bi db up`)"
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            first = str(exc.orig).strip().splitlines()[0]
            if "does not exist" in first and "analytics." in first:
                return f"faltan los marts de dbt ({first}); ejecute `bi run` o `bi dbt build`"
            return first
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        pass
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def show_error(message: str = DEFAULT_ERROR, reason: str | BaseException | None = None) -> None:
    """Display an error box."""
    from IPython.display import HTML

    _display(HTML(error_html(message, reason)))


@contextmanager
def guard(message: str = DEFAULT_ERROR) -> Iterator[None]:
    """Run a notebook section; on failure show an HTML error box and swallow the exception."""
    try:
        yield
    except Exception as exc:  # the point is to turn any failure into a readable box
        log.warning("analysis section failed: %s", describe_error(exc))
        show_error(message, exc)


def show_figure(fig: go.Figure) -> None:
    """Display a Plotly figure as its MIME bundle (rendered by the jupyterlab-plotly extension)."""
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "figura"
    _display({PLOTLY_MIME: json.loads(fig.to_json()), "text/plain": f"<Figure: {title}>"}, raw=True)


def table_html(df: pd.DataFrame, *, caption: str | None = None, max_rows: int = 50) -> str:
    """A compact HTML table (class `bi-table`) of at most `max_rows` rows."""
    shown = formatted_frame(df.head(max_rows))
    body = shown.to_html(index=False, classes="bi-table", border=0, na_rep="—", escape=True)
    cap = (
        f'<div class="bi-table-caption" style="font-weight:600;margin:8px 0 4px">{html.escape(caption)}</div>'
        if caption
        else ""
    )
    more = (
        f'<div style="color:#A0A3BD;font-size:12px">{len(df) - max_rows} filas más no se muestran</div>'
        if len(df) > max_rows
        else ""
    )
    style = (
        "<style>.bi-table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
        ".bi-table th{background:#F5F7FA;color:#1A1A2E;text-align:left;padding:4px 10px}"
        ".bi-table td{padding:3px 10px;border-top:1px solid #E5E7EB}</style>"
    )
    return f'<div class="bi-table-wrap">{style}{cap}{body}{more}</div>'


def show_table(df: pd.DataFrame, *, caption: str | None = None, max_rows: int = 50) -> None:
    """Display a DataFrame as a `bi-table` (or a note when it is empty)."""
    from IPython.display import HTML

    if df.empty:
        show_note(f"{caption}: sin datos en el periodo." if caption else "Sin datos en el periodo.")
        return
    _display(HTML(table_html(df, caption=caption, max_rows=max_rows)))


def show_note(text: str) -> None:
    """A muted one-line note (e.g. an empty period)."""
    from IPython.display import HTML

    _display(
        HTML(
            f'<div class="bi-note" style="color:#6B7280;font-family:sans-serif;margin:6px 0">'
            f"{html.escape(text)}</div>"
        )
    )


def format_value(value: Any, kind: str = "int") -> str:
    """Format a value (es-CO): int, pct (a ratio 0..1), seconds, float, or a KPI key of
    lib.analysis.kpis.KPIS (formatted as every surface does); None → '—'."""
    from lib.analysis import fmt
    from lib.analysis.kpis import KPIS
    from lib.analysis.kpis import format_value as kpi_format

    if kind in KPIS:
        return kpi_format(kind, value)
    if kind != "text" and fmt.missing(value):
        return fmt.MISSING
    if kind == "int":
        return fmt.fmt_int(value)
    if kind == "pct":
        return fmt.fmt_pct(value)
    if kind == "seconds":
        return fmt.fmt_seconds(value)
    if kind == "float":
        return fmt.fmt_num(value, 2)
    return "—" if value is None else str(value)


def formatted_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A table's text as an analyst reads it (es-CO): ratio columns named '… %' as '58,0 %',
    integers '4.051', other numbers '1,5', dates '15/03/2026'."""
    from datetime import date as _date

    from lib.analysis import fmt

    out = df.copy()
    for col in out.columns:
        series = out[col]
        name = str(col)
        if name.endswith("%"):
            out[col] = [fmt.fmt_pct(v) for v in series]
        elif pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
            out[col] = [fmt.fmt_int(v) if not isinstance(v, bool) else ("sí" if v else "no") for v in series]
        elif pd.api.types.is_float_dtype(series):
            whole = series.dropna()
            ints = bool(len(whole)) and bool((whole == whole.round()).all())
            out[col] = [fmt.fmt_int(v) if ints else fmt.fmt_num(v, 1) for v in series]
        else:
            out[col] = [fmt.fmt_date(v) if isinstance(v, _date) else v for v in series]
    return out


def kpi_html(cards: Mapping[str, tuple[Any, str]]) -> str:
    """KPI cards: {label: (value, kind)} → HTML (class `bi-kpi`; `data-kpi` names a KPIS key)."""
    items = "".join(
        f'<div class="bi-kpi" data-kpi="{html.escape(kind)}" style="background:#fff;border:1px solid #E5E7EB;'
        'border-radius:10px;padding:10px 16px;min-width:150px">'
        f'<div style="color:#6B7280;font-size:12px">{html.escape(label)}</div>'
        f'<div class="bi-kpi-value" style="color:#1A1A2E;font-size:22px;font-weight:700">'
        f"{html.escape(format_value(v, kind))}</div>"
        "</div>"
        for label, (v, kind) in cards.items()
    )
    return f'<div class="bi-kpis" style="display:flex;gap:12px;flex-wrap:wrap;font-family:sans-serif;margin:8px 0">{items}</div>'


def show_kpis(cards: Mapping[str, tuple[Any, str]]) -> None:
    """Display KPI cards."""
    from IPython.display import HTML

    _display(HTML(kpi_html(cards)))


def style_figure(fig: go.Figure, title: str, *, height: int = 380) -> go.Figure:
    """The project's look: palette, white background, compact margins, Spanish-friendly title."""
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="plotly_white",
        colorway=SEQUENCE,
        height=height,
        margin={"l": 50, "r": 20, "t": 60, "b": 40},
        font={"color": PALETTE["text"]},
        legend={"orientation": "h", "y": -0.18},
        separators=",.",  # es-CO: 4.051 and 58,0
    )
    if _has_dates(fig):
        fig.update_xaxes(tickformat="%d/%m", hoverformat="%d/%m/%Y")  # numeric dates: no English months
    return fig


def _has_dates(fig: go.Figure) -> bool:
    import numpy as np

    for trace in fig.data:
        xs = getattr(trace, "x", None)
        if xs is None or not len(xs):
            continue
        arr = np.asarray(xs)
        if np.issubdtype(arr.dtype, np.datetime64) or hasattr(arr.flat[0], "year"):
            return True
    return False


def empty_figure(title: str, message: str = "Sin datos en el periodo") -> go.Figure:
    """A figure that says there is nothing to plot (keeps the layout stable)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 16, "color": PALETTE["neutral"]},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style_figure(fig, title, height=260)
