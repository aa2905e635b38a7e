"""(4) Push and campaign performance with the send-time heatmap (mart_push_*, mart_campaign_performance)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib.analysis import display as d
from lib.analysis import kpis as K
from lib.analysis.db import read_frames, to_numeric
from lib.analysis.kpis import ratio
from lib.analysis.params import Filters

COUNTS = ["sent", "delivered", "opened", "clicks"]
FUNNEL_LABELS = {"sent": "Enviados", "delivered": "Entregados", "opened": "Abiertos", "clicks": "Clicks"}
WEEKDAYS_ES = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"]
LEAGUE_MIN_SENT = K.LEAGUE_MIN_SENT


def load(filters: Filters) -> dict[str, pd.DataFrame]:
    """Daily push counts, the heatmap and the window's campaigns."""
    frames = read_frames(
        filters.tenant, ["push_daily", "push_heatmap", "push_campaigns"], filters.sql_params()
    )
    to_numeric(frames["push_daily"], COUNTS)
    to_numeric(frames["push_heatmap"], ["ctr", "hour", "weekday_num"])
    to_numeric(frames["push_campaigns"], COUNTS + ["league_rank"])
    return frames


def rates(frame: pd.DataFrame) -> dict[str, float | None]:
    """Σ/Σ rates of a block of rows: delivery, CTR (÷ sent, Indigitall's), CTR ÷ delivered, open rate."""
    s = frame[COUNTS].sum() if not frame.empty else pd.Series(0, index=COUNTS)
    r = K.push_rates({c: s[c] for c in COUNTS})
    return {k: r[k] for k in ("delivery_rate", "ctr", "ctr_delivered", "open_rate")}


def platform_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Per platform: totals and Σ/Σ rates."""
    if daily.empty:
        return pd.DataFrame()
    rows = []
    for platform, part in daily.groupby("platform"):
        r = rates(part)
        tot = part[COUNTS].sum()
        rows.append(
            {
                "Plataforma": platform,
                "Enviados": int(tot["sent"]),
                "Entregados": int(tot["delivered"]),
                "Abiertos": int(tot["opened"]),
                "Clicks": int(tot["clicks"]),
                "Entrega %": r["delivery_rate"],
                "CTR % (÷ enviados)": r["ctr"],
                "CTR % (÷ entregados)": r["ctr_delivered"],
                "Apertura %": r["open_rate"],
            }
        )
    return pd.DataFrame(rows)


def daily_ctr(daily: pd.DataFrame) -> pd.DataFrame:
    """CTR % (÷ sent) per day and platform."""
    if daily.empty:
        return pd.DataFrame(columns=["date", "platform", "ctr"])
    g = daily.groupby(["date", "platform"])[COUNTS].sum().reset_index()
    g["ctr"] = [ratio(c, s) for c, s in zip(g["clicks"], g["sent"], strict=True)]
    g["date"] = pd.to_datetime(g["date"])
    return g[["date", "platform", "ctr", "sent"]]


def daily_ctr_figure(ctr: pd.DataFrame) -> go.Figure:
    """CTR per day, one line per platform."""
    title = "CTR diario por plataforma (clics ÷ enviados)"
    if ctr.empty:
        return d.empty_figure(title)
    fig = go.Figure()
    for platform, part in ctr.groupby("platform"):
        fig.add_scatter(x=part["date"], y=part["ctr"], name=str(platform), mode="lines")
    fig.update_yaxes(title="%", rangemode="tozero", tickformat=".1%")
    return d.style_figure(fig, title)


def funnel_figure(daily: pd.DataFrame) -> go.Figure:
    """Sent → delivered → opened → clicked, one trace per platform."""
    title = "Embudo push: enviados → entregados → abiertos → clicks"
    if daily.empty or daily["sent"].sum() == 0:
        return d.empty_figure(title)
    fig = go.Figure()
    for platform, part in daily.groupby("platform"):
        tot = part[COUNTS].sum()
        rates = [None, *[K.push_rates(tot)[k] for k in ("delivery_rate", "open_rate", "ctr")]]
        fig.add_trace(
            go.Funnel(
                name=str(platform),
                y=[FUNNEL_LABELS[c] for c in COUNTS],
                x=[int(tot[c]) for c in COUNTS],
                text=[
                    d.format_value(int(tot[c]), "int")
                    + ("" if r is None else f" · {d.format_value(r, 'pct')}")
                    for c, r in zip(COUNTS, rates, strict=True)
                ],  # fmt: skip
                textinfo="text",
            )
        )
    return d.style_figure(fig, title, height=400)


def heatmap_matrix(heat: pd.DataFrame, canal: str | None = None) -> pd.DataFrame:
    """CTR by weekday (rows Mon..Sun) × hour (0..23); NaN where the endpoint reports nothing."""
    grid = pd.DataFrame(float("nan"), index=range(1, 8), columns=range(24))
    if heat.empty:
        return grid
    part = heat if canal is None else heat[heat["canal"] == canal]
    part = part.dropna(subset=["weekday_num", "hour"])
    agg = part.groupby(["weekday_num", "hour"])["ctr"].mean()
    for (wd, hr), v in agg.items():
        if 1 <= int(wd) <= 7 and 0 <= int(hr) <= 23:
            grid.loc[int(wd), int(hr)] = float(v)
    return grid


def best_send_time(grid: pd.DataFrame) -> tuple[str, int, float] | None:
    """(weekday, hour, ctr) of the best cell, or None."""
    stacked = grid.stack()
    if stacked.empty:
        return None
    (wd, hr), v = stacked.idxmax(), stacked.max()
    return WEEKDAYS_ES[int(wd) - 1], int(hr), float(v)


def heatmap_figure(grid: pd.DataFrame) -> go.Figure:
    """Send-time heatmap (CTR by weekday × hour)."""
    title = "Mejor hora de envío: CTR por día y hora"
    if grid.isna().all().all():
        return d.empty_figure(title)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{h:02d}" for h in grid.columns],
            y=WEEKDAYS_ES,
            colorscale=[[0, "#F5F7FA"], [0.5, "#90CAF9"], [1, d.PALETTE["primary"]]],
            colorbar={"title": "CTR"},
            hoverongaps=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return d.style_figure(fig, title, height=360)


def league(campaigns: pd.DataFrame, min_sent: int = LEAGUE_MIN_SENT, top: int = 15) -> pd.DataFrame:
    """Campaigns with ≥ min_sent ranked by CTR (÷ sent)."""
    cols = ["#", "Campaña", "Canal", "Enviados", "Entregados", "Clicks", "Entrega %", "CTR %"]
    if campaigns.empty:
        return pd.DataFrame(columns=cols)
    c = campaigns[campaigns["sent"].fillna(0) >= min_sent].copy()
    if c.empty:
        return pd.DataFrame(columns=cols)
    ranked = pd.DataFrame(K.league(c.to_dict("records"), min_sent)).head(top)
    if ranked.empty:
        return pd.DataFrame(columns=cols)
    c = ranked.assign(ctr_calc=ranked["ctr"], delivery_calc=ranked["delivery_rate"])
    out = pd.DataFrame(
        {
            "#": range(1, len(c) + 1),
            "Campaña": c["campaign_name"].fillna(c["campaign_id"]).to_numpy(),
            "Canal": c["channel"].to_numpy(),
            "Enviados": c["sent"].astype(int).to_numpy(),
            "Entregados": c["delivered"].fillna(0).astype(int).to_numpy(),
            "Clicks": c["clicks"].fillna(0).astype(int).to_numpy(),
            "Entrega %": pd.Series(c["delivery_calc"].to_numpy(), dtype=float).to_numpy(),
            "CTR %": pd.Series(c["ctr_calc"].to_numpy(), dtype=float).to_numpy(),
        }
    )
    return out


def kpis(filters: Filters, campaigns: pd.DataFrame | None = None) -> dict[str, tuple[object, str]]:
    """Headline numbers from the one KPI source (as on the Campaigns page)."""
    t = K.push_totals(K.analysis_fetch(filters.tenant), filters.window)
    return {
        "Push enviados": (t["sent"], "push_sent"),
        "Entrega": (t["delivery_rate"], "push_delivery"),
        "CTR (÷ enviados)": (t["ctr"], "push_ctr"),
        "Apertura": (t["open_rate"], "push_open"),
        "Campañas": (0 if campaigns is None else len(campaigns), "int"),
    }


def report(filters: Filters) -> None:
    """Render the whole view."""
    frames = load(filters)
    daily, heat, campaigns = frames["push_daily"], frames["push_heatmap"], frames["push_campaigns"]
    d.show_kpis(kpis(filters, campaigns))
    d.show_figure(daily_ctr_figure(daily_ctr(daily)))
    d.show_figure(funnel_figure(daily))
    d.show_table(platform_table(daily), caption="Por plataforma")
    grid = heatmap_matrix(heat)
    d.show_figure(heatmap_figure(grid))
    best = best_send_time(grid)
    if best:
        d.show_note(f"Mejor franja: {best[0]} {best[1]:02d}:00 (CTR {d.format_value(best[2], 'float')} %)")
    d.show_table(league(campaigns), caption=f"Liga de campañas (≥ {LEAGUE_MIN_SENT} enviados)")
