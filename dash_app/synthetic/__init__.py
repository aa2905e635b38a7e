"""Synthetic `analytics.*` rows shaped like the dbt marts (contract in docs/contracts.md), generated
in SQL so that volumes of 10× a real tenant stay fast. For tests and `benchmarks/bench_dash.py` when
the real pipeline's marts are not wanted; never used by the served app."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, text

HERE = Path(__file__).parent
TABLES = (
    "fct_messages",
    "fct_conversations",
    "fct_agent_sessions",
    "mart_daily_kpis",
    "mart_agent_performance",
    "mart_intent_performance",
    "mart_volume_heatmap",
    "mart_push_daily",
    "mart_campaign_performance",
    "mart_push_heatmap",
    "mart_fallback_context",
)


def _run_script(engine: Engine, name: str, params: dict | None = None) -> None:
    sql = (HERE / name).read_text(encoding="utf-8")
    with engine.begin() as conn:  # one batch: psycopg2 sends the whole script at once
        conn.execute(text(sql), params or {})


def create_tables(engine: Engine) -> None:
    """The contract's analytics tables (IF NOT EXISTS), RLS forced, SELECT for bi_reader. Owner engine."""
    _run_script(engine, "ddl.sql")


def seed_tenant(
    engine: Engine,
    tenant_id: str,
    start: date,
    days: int,
    messages_per_day: int = 1440,
    *,
    timezone: str = "America/Bogota",
    seed: float = 0.42,
) -> None:
    """Generate messages, sessions, conversations and every mart for one tenant (owner engine)."""
    params = {
        "tenant": tenant_id,
        "start": start,
        "days": int(days),
        "per_day": int(messages_per_day),
        "tz": timezone,
        "seed": float(seed),
    }
    _run_script(engine, "seed.sql", params)
