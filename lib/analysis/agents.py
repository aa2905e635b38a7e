"""(3) Agent workload and wait distribution (fct_agent_sessions)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib.analysis import display as d
from lib.analysis import kpis as K
from lib.analysis.db import read_frame, to_numeric
from lib.analysis.fmt import agent_label
from lib.analysis.params import Filters

WAIT_BUCKETS = [
    (0, 60, "< 1 min"),
    (60, 300, "1–5 min"),
    (300, 900, "5–15 min"),
    (900, 1800, "15–30 min"),
    (1800, float("inf"), "30+ min"),
]
WEEKDAYS_ES = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"]
WAIT_TARGET_S = K.WAIT_TARGET_S


def load(filters: Filters) -> pd.DataFrame:
    """The window's sessions."""
    params = dict(filters.sql_params(), tz=filters.timezone)
    df = read_frame(filters.tenant, "agents_sessions", params)
    df = to_numeric(df, ["wait_seconds", "handle_seconds", "first_response_seconds", "hour", "weekday_num"])
    return with_agent_labels(df)


def with_agent_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Add `agent`: people, not ids (the e-mail the data carry for the agent, else its id)."""
    if df.empty:
        return df.assign(agent=pd.Series(dtype=object))
    emails = df.dropna(subset=["agent_email"]).groupby("agent_id")["agent_email"].first()
    df["agent"] = [agent_label(a, emails.get(a)) for a in df["agent_id"]]
    return df


def valid_waits(sessions: pd.DataFrame) -> pd.Series:
    """Waits of assigned, non-anomalous sessions (seconds ≥ 0)."""
    if sessions.empty:
        return pd.Series(dtype=float)
    ok = sessions["is_assigned"].astype(bool) & ~sessions["is_anomaly"].astype(bool)
    w = sessions.loc[ok, "wait_seconds"].dropna()
    return w[w >= 0]


def wait_buckets(sessions: pd.DataFrame) -> pd.DataFrame:
    """Assigned sessions per wait bucket (<1, 1–5, 5–15, 15–30, 30+ min) with shares."""
    w = valid_waits(sessions)
    counts = [int(((w >= lo) & (w < hi)).sum()) for lo, hi, _ in WAIT_BUCKETS]
    total = sum(counts)
    return pd.DataFrame(
        {
            "bucket": [label for *_, label in WAIT_BUCKETS],
            "sessions": counts,
            "share": [c / total if total else 0.0 for c in counts],
        }
    )


def buckets_figure(buckets: pd.DataFrame) -> go.Figure:
    """Bars of the wait buckets."""
    title = "Distribución del tiempo de espera (sesiones asignadas)"
    if buckets["sessions"].sum() == 0:
        return d.empty_figure(title)
    colors = [d.PALETTE["secondary"]] + [d.PALETTE["primary"]] * 2 + [d.PALETTE["error"]] * 2
    fig = go.Figure(
        go.Bar(
            x=buckets["bucket"],
            y=buckets["sessions"],
            marker_color=colors,
            text=[d.format_value(s, "pct") for s in buckets["share"]],
            textposition="outside",
        )
    )
    fig.update_yaxes(title="Sesiones")
    return d.style_figure(fig, title)


def agent_table(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per agent: sessions, contacts, transfers, median/p90 wait, median handle, active days."""
    cols = [
        "Asesor",
        "Correo",
        "Sesiones",
        "Contactos",
        "Transferencias",
        "Espera mediana (s)",
        "Espera p90 (s)",
        "Atención mediana (min)",
        "Días activos",
    ]
    if sessions.empty:
        return pd.DataFrame(columns=cols)
    s = sessions[sessions["is_assigned"].astype(bool)].copy()
    if s.empty:
        return pd.DataFrame(columns=cols)
    s["valid_wait"] = s["wait_seconds"].where(~s["is_anomaly"].astype(bool) & (s["wait_seconds"] >= 0))
    g = s.groupby("agent")
    out = pd.DataFrame(
        {
            "Correo": g["agent_email"].agg(lambda x: x.dropna().iloc[0] if x.notna().any() else None),
            "Sesiones": g.size(),
            "Contactos": g["contact_id"].nunique(),
            "Transferencias": g["is_transfer"].sum().astype(int),
            "Espera mediana (s)": g["valid_wait"].median().round(0),
            "Espera p90 (s)": g["valid_wait"].quantile(0.9).round(0),
            "Atención mediana (min)": (g["handle_seconds"].median() / 60).round(1),
            "Días activos": g["date"].nunique(),
        }
    )
    out = out.sort_values("Sesiones", ascending=False).reset_index().rename(columns={"agent": "Asesor"})
    return out[cols]


def wait_box_figure(sessions: pd.DataFrame, top: int = 15) -> go.Figure:
    """Wait distribution per agent (the busiest `top` agents)."""
    title = "Espera por asesor (min)"
    if sessions.empty:
        return d.empty_figure(title)
    s = sessions[sessions["is_assigned"].astype(bool) & ~sessions["is_anomaly"].astype(bool)]
    s = s[s["wait_seconds"] >= 0]
    if s.empty:
        return d.empty_figure(title)
    busiest = s["agent"].value_counts().head(top).index
    fig = go.Figure()
    for agent in busiest:
        fig.add_box(
            y=s.loc[s["agent"] == agent, "wait_seconds"] / 60,
            name=str(agent),
            marker_color=d.PALETTE["primary"],
            boxpoints=False,
        )
    fig.add_hline(
        y=WAIT_TARGET_S / 60, line_dash="dash", line_color=d.PALETTE["secondary"], annotation_text="meta 60 s"
    )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title="minutos")
    return d.style_figure(fig, title, height=420)


def workload_matrix(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions queued per weekday (rows, Mon..Sun) × local hour (columns 0..23)."""
    grid = pd.DataFrame(0, index=range(1, 8), columns=range(24))
    if sessions.empty:
        return grid
    counts = sessions.dropna(subset=["weekday_num", "hour"]).groupby(["weekday_num", "hour"]).size()
    for (wd, hr), n in counts.items():
        grid.loc[int(wd), int(hr)] = int(n)
    return grid


def workload_figure(grid: pd.DataFrame) -> go.Figure:
    """Heatmap of sessions entering the queue by weekday × hour (tenant time)."""
    title = "Carga: sesiones en cola por día y hora (hora local)"
    if int(grid.to_numpy().sum()) == 0:
        return d.empty_figure(title)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{h:02d}" for h in grid.columns],
            y=[WEEKDAYS_ES[i - 1] for i in grid.index],
            colorscale=[[0, "#F5F7FA"], [1, d.PALETTE["primary"]]],
            colorbar={"title": "Sesiones"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return d.style_figure(fig, title, height=340)


def kpis(filters: Filters) -> dict[str, tuple[object, str]]:
    """Headline numbers from the one KPI source: service level with the tenant's T over assigned +
    abandoned (> 5 s), abandonment over queued sessions (as on the Operations page)."""
    sess = K.sessions(K.analysis_fetch(filters.tenant), filters.window)
    return {
        "Sesiones": (sess.get("sessions"), "int"),
        "Asesores activos": (sess.get("agents"), "int"),
        "Espera mediana": (sess["wait_p50"], "wait_p50"),
        "Espera p90": (sess["wait_p90"], "wait_p90"),
        f"Nivel de servicio (≤ {sess['sl_threshold']} s)": (sess["service_level"], "service_level"),
        "Abandono": (sess["abandonment"], "abandonment"),
    }


def report(filters: Filters) -> None:
    """Render the whole view."""
    sessions = load(filters)
    d.show_kpis(kpis(filters))
    if sessions.empty:
        d.show_note("No hay sesiones de asesor en el periodo seleccionado.")
    d.show_figure(buckets_figure(wait_buckets(sessions)))
    d.show_figure(wait_box_figure(sessions))
    d.show_figure(workload_figure(workload_matrix(sessions)))
    d.show_table(agent_table(sessions), caption="Carga por asesor")
