"""The network page `/red`: cooperatives side by side (values checked against owner-side SQL), the
network total as Σ/Σ, the median, the ranking, the deltas, row click → tenant dashboards, and a
viewer reaching none of it (page, navigation, callbacks, HTTP)."""

from __future__ import annotations

import json
import statistics
from datetime import timedelta

import pytest
from fixtures_dash import (  # first: puts dash_app on sys.path
    END,
    PASSWORD,
    START,
    TENANT_A,
    TENANT_B,
    as_user,
    live_server,
    store,
)
from sqlalchemy import text

W = {"s": START, "e": END}
TRUTH = """
SELECT t.tenant_id,
  (SELECT sum(messages) FROM analytics.mart_daily_kpis d WHERE d.tenant_id = t.tenant_id
     AND d.date BETWEEN :s AND :e) AS messages,
  (SELECT sum(contained_conversations)::float / NULLIF(sum(bot_conversations), 0)
     FROM analytics.mart_daily_kpis d WHERE d.tenant_id = t.tenant_id AND d.date BETWEEN :s AND :e) AS containment,
  (SELECT sum(contained_conversations) FROM analytics.mart_daily_kpis d WHERE d.tenant_id = t.tenant_id
     AND d.date BETWEEN :s AND :e) AS contained,
  (SELECT sum(bot_conversations) FROM analytics.mart_daily_kpis d WHERE d.tenant_id = t.tenant_id
     AND d.date BETWEEN :s AND :e) AS bot_conv,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_seconds) FROM analytics.fct_agent_sessions a
     WHERE a.tenant_id = t.tenant_id AND a.is_assigned AND a.date BETWEEN :s AND :e) AS wait_p50
FROM (VALUES ('acme'), ('globex')) AS t(tenant_id) ORDER BY 1
"""


def truth(url: str, **window) -> dict[str, dict]:
    from lib.db import get_engine

    with get_engine("owner", url).connect() as conn:
        return {r["tenant_id"]: dict(r) for r in conn.execute(text(TRUTH), window or W).mappings()}


def test_rows_total_median_and_rank_match_sql(dash_app_obj, dash_db):
    from dash_app.pages.network import update_network

    t = truth(dash_db)
    with as_user(dash_app_obj, "admin"):
        rows, summary = update_network(store())
    by = {r["tenant"]: r for r in rows}
    assert set(by) == {TENANT_A, TENANT_B}
    for tenant in (TENANT_A, TENANT_B):
        assert by[tenant]["messages"] == t[tenant]["messages"]
        assert by[tenant]["containment"] == pytest.approx(t[tenant]["containment"])
        assert by[tenant]["wait_p50"] == pytest.approx(t[tenant]["wait_p50"])
    # ranked by messages, biggest first (acme has ~3x globex's volume in the seed)
    assert [r["tenant"] for r in rows] == [TENANT_A, TENANT_B] and rows[0]["rank"] == 1
    from test_dash_callbacks import texts

    from lib.analysis.kpis import format_value

    s = texts(summary)
    total_msgs = t[TENANT_A]["messages"] + t[TENANT_B]["messages"]
    assert s["red-total-messages"] == format_value("messages", total_msgs)
    pooled = (t[TENANT_A]["contained"] + t[TENANT_B]["contained"]) / (
        t[TENANT_A]["bot_conv"] + t[TENANT_B]["bot_conv"]
    )
    assert s["red-total-containment"] == format_value("containment", pooled)
    mean_of_rates = (t[TENANT_A]["containment"] + t[TENANT_B]["containment"]) / 2
    assert s["red-median-containment"] == format_value("containment", mean_of_rates)  # median of two
    assert abs(pooled - mean_of_rates) > 1e-4  # the seed tells Σ/Σ from the mean of rates
    assert s["red-median-wait_p50"] == format_value(
        "wait_p50", statistics.median([t[TENANT_A]["wait_p50"], t[TENANT_B]["wait_p50"]])
    )


def test_deltas_against_each_tenants_previous_period(dash_app_obj, dash_db):
    from dash_app.kpi import Kpi
    from dash_app.pages.network import update_network

    cur_s, cur_e = START + timedelta(days=30), START + timedelta(days=44)
    prev_s, prev_e = START + timedelta(days=15), START + timedelta(days=29)
    cur, prev = truth(dash_db, s=cur_s, e=cur_e), truth(dash_db, s=prev_s, e=prev_e)
    with as_user(dash_app_obj, "admin"):
        rows, _ = update_network(store(start=cur_s, end=cur_e))
    for r in rows:
        t = r["tenant"]
        expected = Kpi("m", "", cur[t]["messages"], prev[t]["messages"]).delta_text
        assert r["messages_delta"] == expected and expected != "sin comparación"
    # the full seeded window has no loaded previous period: no fake deltas
    with as_user(dash_app_obj, "admin"):
        rows, _ = update_network(store())
    assert {r["messages_delta"] for r in rows} == {"sin comparación"}


def test_row_click_opens_that_tenants_dashboards(dash_app_obj, dash_db):
    from dash_app.pages.network import open_tenant

    with as_user(dash_app_obj, "admin"):
        href = open_tenant({"rowId": TENANT_B, "colId": "messages", "rowIndex": 1}, store())
        forged = open_tenant({"rowId": "not-a-tenant"}, store())
    assert href.startswith("/?tenant=globex&range=custom&from=2026-01-05&to=")
    from dash import no_update

    assert forged is no_update


def dump(component) -> str:
    from plotly.utils import PlotlyJSONEncoder

    return json.dumps(component, cls=PlotlyJSONEncoder)


def test_viewer_reaches_nothing_of_the_network(dash_app_obj, dash_db):
    import werkzeug.exceptions

    from dash_app.app import shell
    from dash_app.pages.network import layout, open_tenant, update_network

    with as_user(dash_app_obj, "viewer", TENANT_A):
        with pytest.raises(werkzeug.exceptions.Forbidden):
            update_network(store(tenant=TENANT_B))
        with pytest.raises(werkzeug.exceptions.Forbidden):
            open_tenant({"rowId": TENANT_B}, store())
        page = dump(layout())
        nav = dump(shell())
    assert "globex" not in page and "red-grid" not in page
    assert '"/red"' not in nav and "nav-network" not in nav
    with as_user(dash_app_obj, "admin"):
        assert '"/red"' in dump(shell())


def _signed_in(client, name: str) -> None:
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code in (302, 303), r.status_code


def test_http_viewer_gets_404_and_403_admin_gets_the_rows(dash_app_obj, dash_db):
    """Through the real server: the page, the callback, a forged callback body."""
    import httpx

    body = {
        "output": "..red-grid.rowData...red-summary.children..",
        "outputs": [{"id": "red-grid", "property": "rowData"}, {"id": "red-summary", "property": "children"}],
        "inputs": [{"id": "filters", "property": "data", "value": store(tenant=TENANT_B)}],
        "changedPropIds": ["filters.data"],
    }
    with live_server(dash_app_obj.server) as base:
        with httpx.Client(base_url=base, follow_redirects=False) as viewer:
            _signed_in(viewer, "victor_acme")
            assert viewer.get("/red").status_code == 404
            cb = viewer.post("/_dash-update-component", json=body)
            assert cb.status_code == 403 and "globex" not in cb.text
            assert viewer.get("/").status_code == 200  # its own dashboards still work
        with httpx.Client(base_url=base, follow_redirects=False) as admin:
            _signed_in(admin, "ana_admin")
            assert admin.get("/red").status_code == 200
            cb = admin.post("/_dash-update-component", json=body)
            assert cb.status_code == 200
            rows = cb.json()["response"]["red-grid"]["rowData"]
            assert {r["tenant"] for r in rows} == {TENANT_A, TENANT_B}
