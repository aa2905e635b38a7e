"""Honest periods: presets end at the last complete local day, every page says "datos al …" from the
latest loaded data and the last successful run, and partial days are shaded (data_coverage when the
table exists, the fallback rules otherwise)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fixtures_dash import END, START, TENANT_A, as_user, store
from sqlalchemy import text


def _texts(component) -> str:
    return str(component.to_plotly_json())


def _coverage(url: str, complete_to) -> None:
    """public.data_coverage as raw-v2's contract shapes it (created here when the migration is absent)."""
    from lib.db import get_engine, tenant_tx

    with get_engine("owner", url).begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS public.data_coverage (tenant_id text NOT NULL, entity text NOT NULL, "
                "complete_from date, complete_to date, loaded_through timestamptz, updated_at timestamptz "
                "DEFAULT now(), PRIMARY KEY (tenant_id, entity))"
            )
        )
        conn.execute(text("SELECT ops.enable_tenant_rls('public.data_coverage'::regclass)"))
        conn.execute(
            text("GRANT SELECT, INSERT, UPDATE, DELETE ON public.data_coverage TO bi_reader, bi_loader")
        )
    with tenant_tx(TENANT_A, "loader", url) as conn:
        conn.execute(text("DELETE FROM public.data_coverage WHERE tenant_id = :t"), {"t": TENANT_A})
        for entity in ("messages", "chat_conversations"):
            conn.execute(
                text(
                    "INSERT INTO public.data_coverage (tenant_id, entity, complete_from, complete_to, loaded_through) "
                    "VALUES (:t, :e, :f, :c, CAST(:c AS date) + interval '1 day 6 hours')"
                ),
                {"t": TENANT_A, "e": entity, "f": START, "c": complete_to},
            )


def test_pages_say_datos_al_and_last_run_in_tenant_time(dash_app_obj, dash_db):
    from dash_app.pages.executive import layout
    from dash_app.queries import cache_clear

    cache_clear()
    with as_user(dash_app_obj, "admin"):
        page = _texts(layout(range="custom", **{"from": START.isoformat()}, to=END.isoformat()))
    from lib.db import get_engine

    with get_engine("owner", dash_db).connect() as conn:
        latest = conn.execute(
            text(
                "SELECT max(message_ts) AT TIME ZONE 'America/Bogota' FROM analytics.fct_messages WHERE tenant_id='acme'"
            )
        ).scalar()
    from lib.analysis.fmt import MONTHS_ES

    assert f"Datos al {latest.day} de {MONTHS_ES[latest.month - 1]} de {latest.year}, {latest:%H:%M}" in page
    # the last successful run of acme: 2026-01-10 12:01:30 UTC = 07:01 in Bogotá (not the failed one)
    assert "última actualización: 10 de enero de 2026, 07:01" in page


def test_presets_end_at_the_last_complete_day_from_data_coverage(dash_app_obj, dash_db):
    from dash_app.filters import resolve_filters
    from dash_app.pages.executive import update_executive
    from dash_app.queries import cache_clear
    from dash_app.security import current_user

    _coverage(dash_db, END - timedelta(days=3))
    cache_clear()
    try:
        with as_user(dash_app_obj, "admin"):
            f = resolve_filters({"range": "7"}, current_user(), today=END + timedelta(days=1))
            assert (f.start, f.end) == (END - timedelta(days=9), END - timedelta(days=3))
            daily = update_executive(store(start=END - timedelta(days=9), end=END))[1]
        shaded = sorted(s.name for s in daily.layout.shapes)
        assert shaded == [f"parcial {(END - timedelta(days=i)).isoformat()}" for i in (2, 1, 0)]
    finally:
        from lib.db import get_engine

        with get_engine("owner", dash_db).begin() as conn:
            conn.execute(text("DROP TABLE public.data_coverage"))
        cache_clear()


def test_without_coverage_only_days_after_the_data_are_partial(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive
    from dash_app.queries import cache_clear

    cache_clear()
    with as_user(dash_app_obj, "admin"):
        daily = update_executive(store(start=END - timedelta(days=6), end=END + timedelta(days=1)))[1]
    assert [s.name for s in daily.layout.shapes] == [f"parcial {(END + timedelta(days=1)).isoformat()}"]


@pytest.mark.parametrize("days", [7])
def test_preset_deltas_compare_complete_days(dash_app_obj, dash_db, days):
    """The default 7-day preset ends yesterday: its delta compares complete days with complete days."""
    from dash_app.filters import resolve_filters
    from dash_app.security import current_user

    with as_user(dash_app_obj, "admin"):
        f = resolve_filters({"range": str(days)}, current_user(), today=END)
    assert f.end == END - timedelta(days=1) and f.previous().end == f.start - timedelta(days=1)
