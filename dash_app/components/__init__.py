"""Shared UI pieces: theme, KPI cards, empty states, the filter bar."""
