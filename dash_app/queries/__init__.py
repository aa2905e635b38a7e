"""Read-only queries over the dbt marts (schema `analytics`) and the run ledger, through the reader
role with the tenant set per transaction (RLS). Each query's SQL is a `.sql` file in this folder."""

from dash_app.queries.db import cache_clear, fetch_all, fetch_one, load_sql

__all__ = ["cache_clear", "fetch_all", "fetch_one", "load_sql"]
