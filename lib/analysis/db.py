"""Read-only queries of the analysis views: marts (schema `analytics`) through the analyst login.

Every query runs inside `tenant_tx(tenant, "analyst")` (ANALYST_DATABASE_URL: public and the marts,
nothing in ops, no writes), so row-level security limits it to the
tenant's rows. The SQL lives in `lib/analysis/sql/<name>.sql` (bind parameters `:date_from`,
`:date_to`); no credential is ever handled here.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from lib.analysis.display import AnalysisError

SQL_DIR = Path(__file__).with_name("sql")


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise AnalysisError(f"consulta desconocida: {name}")
    return path.read_text(encoding="utf-8")


def read_frame(tenant: str, name: str, params: dict[str, object] | None = None) -> pd.DataFrame:
    """Run `sql/<name>.sql` as the analyst for `tenant`; return a DataFrame."""
    from lib.db import tenant_tx

    with tenant_tx(tenant, "analyst") as conn:
        result = conn.execute(text(sql_text(name)), params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def read_frames(
    tenant: str, names: list[str], params: dict[str, object] | None = None
) -> dict[str, pd.DataFrame]:
    """Several queries in one analyst transaction (one consistent snapshot)."""
    from lib.db import tenant_tx

    frames: dict[str, pd.DataFrame] = {}
    with tenant_tx(tenant, "analyst") as conn:
        for name in names:
            result = conn.execute(text(sql_text(name)), params or {})
            frames[name] = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return frames


def latest_date(tenant: str) -> date | None:
    """The last date with messages or push stats for the tenant (None when the marts are empty)."""
    try:
        frame = read_frame(tenant, "latest_date")
    except Exception:  # missing marts: callers fall back to today and report later
        return None
    if frame.empty:
        return None
    value = frame.iloc[0, 0]
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def to_numeric(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Cast Decimal/object columns to floats (psycopg returns NUMERIC as Decimal)."""
    for col in columns:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df
