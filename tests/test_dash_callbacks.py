"""Dashboard callbacks called as plain functions with a fake session, checked against SQL computed
here on the seeded analytics rows (Σ/Σ rates, percentiles, distinct counts, tenant enforcement)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fixtures_dash import END, START, TENANT_A, TENANT_B, as_user, store
from sqlalchemy import text

from dash_app.components.empty import NO_DATA, is_empty_figure


def sql_one(url: str, sql: str, **params):
    """Owner-side truth (explicit tenant filter; the owner is a superuser on the embedded server)."""
    from lib.db import get_engine

    with get_engine("owner", url).connect() as conn:
        return conn.execute(text(sql), params).mappings().first()


def sql_all(url: str, sql: str, **params) -> list:
    """Every row of an owner-side truth query."""
    from lib.db import get_engine

    with get_engine("owner", url).connect() as conn:
        return list(conn.execute(text(sql), params).mappings().all())


def texts(component) -> dict[str, str]:
    """id -> children text of every component with an id (KPI values, deltas, targets)."""
    out: dict[str, str] = {}

    def walk(c) -> None:
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        cid = getattr(c, "id", None)
        children = getattr(c, "children", None)
        if cid and isinstance(children, str):
            out[cid] = children
        walk(children)

    walk(component)
    return out


def pct(v: float | None) -> str:
    from dash_app.components.theme import fmt_pct

    return fmt_pct(v)


W = {"s": START, "e": END}


def test_executive_cards_match_sql(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive

    truth = sql_one(
        dash_db,
        """
        SELECT count(*) AS messages, count(DISTINCT contact_id) AS contacts,
               count(*) FILTER (WHERE is_fallback)::float
                 / NULLIF(count(*) FILTER (WHERE direction = 'Inbound' AND intent IS NOT NULL), 0) AS fallback
        FROM analytics.fct_messages WHERE tenant_id = 'acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    conv = sql_one(
        dash_db,
        """
        SELECT count(*) AS conversations,
               count(*) FILTER (WHERE is_contained)::float / NULLIF(count(*) FILTER (WHERE has_bot), 0) AS cont
        FROM analytics.fct_conversations WHERE tenant_id = 'acme' AND start_date BETWEEN :s AND :e""",
        **W,
    )
    wait = sql_one(
        dash_db,
        """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_seconds) AS p50
        FROM analytics.fct_agent_sessions WHERE tenant_id = 'acme' AND is_assigned AND date BETWEEN :s AND :e""",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        cards, daily, donut, cards2, league = update_executive(store())
    t = texts(cards)
    assert t["kpi-messages-value"] == f"{truth['messages']:,}".replace(",", ".")
    assert t["kpi-contacts-value"] == f"{truth['contacts']:,}".replace(",", ".")
    assert t["kpi-conversations-value"] == f"{conv['conversations']:,}".replace(",", ".")
    assert t["kpi-fallback-value"] == pct(truth["fallback"])
    assert t["kpi-wait-value"] == f"{wait['p50']:.0f} s"
    assert t["kpi-wait-target"] == "Meta < 60 s"
    assert texts(cards2)["kpi-containment-value"] == pct(conv["cont"])
    assert not is_empty_figure(daily) and not is_empty_figure(donut)
    # the previous window (before the seeded data) is empty: no comparison rather than a fake delta
    assert t["kpi-messages-delta"] == "sin comparación"


def test_rates_are_sum_over_sum_not_mean_of_daily_rates(dash_app_obj, dash_db):
    from dash_app.queries import chat
    from dash_app.security import current_user  # noqa: F401

    with as_user(dash_app_obj, "admin"):
        from dash_app.pages._common import trusted_filters

        f = trusted_filters(store())
        totals = chat.totals(f)
    ratios = sql_one(
        dash_db,
        """
        SELECT sum(fallback_count)::float / sum(bot_answered_inbound) AS pooled,
               avg(fallback_count::float / NULLIF(bot_answered_inbound, 0)) AS mean_daily
        FROM analytics.mart_daily_kpis WHERE tenant_id = 'acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    assert totals["fallback_rate"] == pytest.approx(ratios["pooled"])
    assert abs(ratios["pooled"] - ratios["mean_daily"]) > 1e-6  # the data tell the two apart


def test_delta_against_previous_period_of_equal_length(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive

    cur_s, cur_e = START + timedelta(days=30), START + timedelta(days=44)  # 15 days
    prev_s, prev_e = START + timedelta(days=15), START + timedelta(days=29)
    cur = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='acme' AND date BETWEEN :s AND :e",
        s=cur_s,
        e=cur_e,
    )["n"]
    prev = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='acme' AND date BETWEEN :s AND :e",
        s=prev_s,
        e=prev_e,
    )["n"]
    with as_user(dash_app_obj, "admin"):
        cards = update_executive(store(start=cur_s, end=cur_e))[0]
    delta = (cur - prev) / prev * 100
    arrow = "▲" if delta > 0 else "▼"
    assert texts(cards)["kpi-messages-delta"] == f"{arrow} {abs(delta):.1f} %".replace(".", ",")


def test_channel_filter_changes_numbers(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive

    web = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='acme' "
        "AND channel='webchat' AND date BETWEEN :s AND :e",
        **W,
    )["n"]
    with as_user(dash_app_obj, "admin"):
        all_cards = texts(update_executive(store())[0])
        web_cards = texts(update_executive(store(channel="webchat"))[0])
    assert web_cards["kpi-messages-value"] == f"{web:,}".replace(",", ".")
    assert web_cards["kpi-messages-value"] != all_cards["kpi-messages-value"]


def test_empty_period_shows_no_data_state(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive
    from dash_app.pages.operations import update_operations

    empty = store(start=date(2020, 1, 1), end=date(2020, 1, 31))
    with as_user(dash_app_obj, "admin"):
        cards, daily, donut, cards2, league = update_executive(empty)
        ops = update_operations(empty)
    assert is_empty_figure(daily) and is_empty_figure(donut)
    assert daily.layout.annotations[0].text == NO_DATA
    t = texts(cards)
    assert t["kpi-messages-value"] == "0"
    assert t["kpi-fallback-value"] == "—"  # zero denominator -> NULL -> dash
    assert t["kpi-wait-value"] == "—"
    assert league == []
    assert all(is_empty_figure(fig) for fig in ops[2:7])
    assert ops[7] == []
    assert texts(ops[1])["kpi-repeat_contact-value"] == "—"


def test_operations_percentiles_and_service_level(dash_app_obj, dash_db):
    from dash_app.pages.operations import update_operations

    truth = sql_one(
        dash_db,
        """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY handle_seconds) AS handle_p50,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds) AS fr_p50,
               count(*) FILTER (WHERE is_assigned AND wait_seconds <= 60)::float
                 / (count(*) FILTER (WHERE is_assigned AND wait_seconds IS NOT NULL)
                    + count(*) FILTER (WHERE is_abandoned)) AS sl,
               count(*) FILTER (WHERE is_abandoned)::float / count(*) FILTER (WHERE queued_at IS NOT NULL) AS ab
        FROM analytics.fct_agent_sessions WHERE tenant_id = 'acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        out = update_operations(store())
    t = texts(out[0])
    from dash_app.components.theme import fmt_seconds

    assert t["kpi-handle-value"] == fmt_seconds(truth["handle_p50"])
    assert t["kpi-first_response-value"] == fmt_seconds(truth["fr_p50"])
    assert t["kpi-service_level-value"] == pct(truth["sl"])
    assert t["kpi-abandonment-value"] == pct(truth["ab"])


def test_wait_buckets_match_sql(dash_app_obj, dash_db):
    from dash_app.pages.operations import update_operations

    truth = sql_one(
        dash_db,
        """
        SELECT count(*) FILTER (WHERE wait_seconds < 60) AS b1,
               count(*) FILTER (WHERE wait_seconds >= 60 AND wait_seconds < 300) AS b2,
               count(*) FILTER (WHERE wait_seconds >= 1800) AS b5
        FROM analytics.fct_agent_sessions WHERE tenant_id = 'acme' AND is_assigned
          AND date BETWEEN :s AND :e""",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        fig = update_operations(store())[3]
    y = list(fig.data[0].y)
    assert (y[0], y[1], y[4]) == (truth["b1"], truth["b2"], truth["b5"])


def test_quality_cards_match_sql(dash_app_obj, dash_db):
    from dash_app.pages.operations import update_operations

    truth = sql_one(
        dash_db,
        """
        WITH c AS (
            SELECT contact_id, ended_at, start_date,
                   lead(started_at) OVER (PARTITION BY contact_id ORDER BY started_at) AS nxt
            FROM analytics.fct_conversations WHERE tenant_id = 'acme')
        SELECT count(DISTINCT contact_id) FILTER (WHERE nxt <= ended_at + interval '24 hours')::float
               / count(DISTINCT contact_id) AS repeat
        FROM c WHERE start_date BETWEEN :s AND :e""",
        **W,
    )
    sessions = sql_one(
        dash_db,
        """
        SELECT count(*) FILTER (WHERE is_transfer)::float / count(*) AS transfers
        FROM analytics.fct_agent_sessions WHERE tenant_id = 'acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    msgs = sql_one(
        dash_db,
        """
        SELECT count(*) FILTER (WHERE status IN ('channel_delivered', 'channel_read'))::float
               / count(*) FILTER (WHERE direction = 'Outbound') AS delivery
        FROM analytics.fct_messages WHERE tenant_id = 'acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        t = texts(update_operations(store())[1])
    assert t["kpi-repeat_contact-value"] == pct(truth["repeat"])
    assert t["kpi-transfers-value"] == pct(sessions["transfers"])
    assert t["kpi-outbound_delivery-value"] == pct(msgs["delivery"])


def test_heatmap_matches_sql_and_drills_to_its_rows(dash_app_obj, dash_db):
    from dash_app.pages.operations import drill_down, update_operations
    from lib.db import get_engine

    with as_user(dash_app_obj, "admin"):
        heat = update_operations(store())[2]
    z = heat.data[0].z
    cell = sql_one(
        dash_db,
        """
        SELECT weekday_num, hour, count(*) AS n FROM analytics.fct_messages
        WHERE tenant_id='acme' AND direction='Inbound' AND date BETWEEN :s AND :e
        GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1""",
        **W,
    )
    assert z[cell["weekday_num"] - 1][cell["hour"]] == cell["n"]
    click = {
        "points": [
            {"x": cell["hour"], "y": "x", "z": cell["n"], "customdata": [cell["weekday_num"], cell["hour"]]}
        ]
    }
    with as_user(dash_app_obj, "admin"):
        title, rows, links, style = drill_down(click, store())
    with get_engine("owner", dash_db).connect() as conn:
        expected = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT conversation_key FROM analytics.fct_messages WHERE tenant_id='acme' AND direction='Inbound' "
                    "AND weekday_num=:w AND hour=:h AND date BETWEEN :s AND :e"
                ),
                {"w": cell["weekday_num"], "h": cell["hour"], **W},
            )
        }
    assert len(rows) == min(cell["n"], 500)
    assert {r["conversation_key"] for r in rows} <= expected
    assert f"{cell['hour']:02d}:00" in title
    assert all(r["hour"] == cell["hour"] for r in rows)
    # times are tenant-local text (Bogotá), never left to the browser's zone
    with get_engine("owner", dash_db).connect() as conn:
        newest = conn.execute(
            text("SELECT max(message_ts) AT TIME ZONE 'America/Bogota' FROM analytics.fct_messages WHERE tenant_id='acme' "
                 "AND direction='Inbound' AND weekday_num=:w AND hour=:h AND date BETWEEN :s AND :e"),
            {"w": cell["weekday_num"], "h": cell["hour"], **W},
        ).scalar()  # fmt: skip
    assert rows[0]["message_ts"] == f"{newest:%Y-%m-%d %H:%M:%S}"
    assert f"weekday={cell['weekday_num']}" in str(links) and style == {}


def test_agent_table_matches_sql(dash_app_obj, dash_db):
    from dash_app.pages.operations import update_operations

    with as_user(dash_app_obj, "admin"):
        agents = update_operations(store())[7]
    truth = sql_one(
        dash_db,
        """
        SELECT agent_id, count(*) AS sessions, count(DISTINCT contact_id) AS contacts,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY handle_seconds) AS med_handle
        FROM analytics.fct_agent_sessions WHERE tenant_id='acme' AND agent_id IS NOT NULL
          AND date BETWEEN :s AND :e GROUP BY agent_id ORDER BY count(*) DESC, agent_id LIMIT 1""",
        **W,
    )
    msgs = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='acme' "
        "AND agent_id = :a AND date BETWEEN :s AND :e",
        a=truth["agent_id"],
        **W,
    )["n"]
    row = next(r for r in agents if r["agent_id"] == truth["agent_id"])
    assert row["sessions"] == truth["sessions"] and row["contacts"] == truth["contacts"]
    assert row["median_handle_s"] == pytest.approx(truth["med_handle"])
    assert row["messages"] == msgs
    assert row["active_days"] > 0


def test_agent_table_follows_the_channel_filter(dash_app_obj, dash_db):
    """One channel: messages, sessions and active days of that channel only (the mart has no channel)."""
    from dash_app.pages.operations import update_operations

    with as_user(dash_app_obj, "admin"):
        rows = {r["agent_id"]: r for r in update_operations(store(channel="webchat"))[7]}
        everything = {r["agent_id"]: r for r in update_operations(store())[7]}
    truth = {
        r["agent_id"]: r
        for r in sql_all(
            dash_db,
            """
            WITH m AS (SELECT agent_id, date FROM analytics.fct_messages WHERE tenant_id='acme' AND is_human
                         AND agent_id IS NOT NULL AND channel='webchat' AND date BETWEEN :s AND :e),
                 s AS (SELECT agent_id, date FROM analytics.fct_agent_sessions WHERE tenant_id='acme'
                         AND agent_id IS NOT NULL AND channel='webchat' AND date BETWEEN :s AND :e)
            SELECT agent_id, (SELECT count(*) FROM m WHERE m.agent_id = a.agent_id) AS messages,
                   (SELECT count(*) FROM s WHERE s.agent_id = a.agent_id) AS sessions,
                   (SELECT count(*) FROM (SELECT date FROM m WHERE m.agent_id = a.agent_id
                                          UNION SELECT date FROM s WHERE s.agent_id = a.agent_id) d) AS days
            FROM (SELECT agent_id FROM m UNION SELECT agent_id FROM s) a""",
            **W,
        )
    }
    assert truth and set(rows) == set(truth)
    for agent, want in truth.items():
        got = rows[agent]
        assert (got["messages"], got["sessions"], got["active_days"]) == (
            want["messages"], want["sessions"], want["days"]
        ), agent  # fmt: skip
    assert sum(r["messages"] for r in rows.values()) < sum(r["messages"] for r in everything.values())


def test_bot_page_rates_and_pareto(dash_app_obj, dash_db):
    from dash_app.pages.bot import update_bot

    truth = sql_one(
        dash_db,
        """
        SELECT count(*) FILTER (WHERE is_escalated)::float / NULLIF(count(*) FILTER (WHERE has_bot), 0) AS esc
        FROM analytics.fct_conversations WHERE tenant_id='acme' AND start_date BETWEEN :s AND :e""",
        **W,
    )
    top = sql_one(
        dash_db,
        """
        SELECT first_meaningful_intent AS intent, count(*) AS n, sum(count(*)) OVER () AS total
        FROM analytics.fct_conversations WHERE tenant_id='acme' AND first_meaningful_intent IS NOT NULL
          AND start_date BETWEEN :s AND :e GROUP BY 1 ORDER BY 2 DESC LIMIT 1""",
        **W,
    )
    context = sql_one(
        dash_db,
        "SELECT context_intent, sum(fallbacks) AS n FROM analytics.mart_fallback_context WHERE tenant_id='acme' "
        "AND date BETWEEN :s AND :e GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        cards, rates, fallbacks, pareto = update_bot(store())
    assert texts(cards)["kpi-escalation-value"] == pct(truth["esc"])
    assert texts(cards)["kpi-fallback-target"] == "Meta < 15,0 %"
    assert pareto.data[0].x[0] == top["intent"] and pareto.data[0].y[0] == top["n"]
    assert list(pareto.data[1].y) == sorted(pareto.data[1].y)  # cumulative share rises
    assert pareto.data[1].y[0] == pytest.approx(top["n"] / float(top["total"]))  # share of ALL intents
    # where the bot fails: by the intent recognised before the fallback, not one "Default Fallback" bar
    assert fallbacks.data[0].y[-1] == context["context_intent"] != "Default Fallback Intent"
    assert fallbacks.data[0].x[-1] == context["n"]


def test_push_page_league_and_funnel(dash_app_obj, dash_db):
    from dash_app.pages.campaigns import update_funnel, update_push

    truth = sql_one(
        dash_db,
        """
        SELECT sum(clicks)::float / sum(sent) AS ctr, sum(delivered)::float / sum(sent) AS dr,
               sum(opened)::float / sum(delivered) AS orate, sum(sent) AS sent
        FROM analytics.mart_push_daily WHERE tenant_id='acme' AND date BETWEEN :s AND :e""",
        **W,
    )
    with as_user(dash_app_obj, "admin"):
        cards, sent, ctr, platforms, heat, league, options = update_push(store())
        fun = update_funnel("__all__", store())
        fun_ios = update_funnel("platform:ios", store())
    t = texts(cards)
    assert t["kpi-push_ctr-value"] == pct(truth["ctr"])
    assert t["kpi-push_delivery-value"] == pct(truth["dr"])
    assert t["kpi-push_open-value"] == pct(truth["orate"])
    assert league and all(r["sent"] >= 100 for r in league)
    ctrs = [r["ctr"] for r in league]
    assert ctrs == sorted(ctrs, reverse=True) and [r["rank"] for r in league] == list(
        range(1, len(league) + 1)
    )
    assert list(fun.data[0].x)[0] == truth["sent"]
    assert list(fun_ios.data[0].x)[0] < truth["sent"]
    assert any(o["value"].startswith("campaign:") for o in options)
    # best-send-time heatmap: cells the API does not report are hidden (None), not drawn as zero
    assert any(v is None for row in heat.data[0].z for v in row)
    # the funnel's "Abiertos" stage shows the open-rate card's value (÷ delivered), not ÷ sent
    assert t["kpi-push_open-value"] in fun.data[0].text[2]


def test_viewer_cannot_get_another_tenant_by_forging_the_store(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive

    b_msgs = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='globex' "
        "AND date BETWEEN :s AND :e",
        **W,
    )["n"]
    a_msgs = sql_one(
        dash_db,
        "SELECT count(*) AS n FROM analytics.fct_messages WHERE tenant_id='acme' AND date BETWEEN :s AND :e",
        **W,
    )["n"]
    with as_user(dash_app_obj, "viewer", TENANT_A):
        forged = texts(update_executive(store(tenant=TENANT_B))[0])
    with as_user(dash_app_obj, "admin"):
        admin_b = texts(update_executive(store(tenant=TENANT_B))[0])
    assert forged["kpi-messages-value"] == f"{a_msgs:,}".replace(",", ".")
    assert admin_b["kpi-messages-value"] == f"{b_msgs:,}".replace(",", ".")


def test_callbacks_refuse_without_a_session(dash_app_obj, dash_db):
    from dash_app.pages.executive import update_executive
    from dash_app.security import Unauthorized

    with as_user(dash_app_obj, None), pytest.raises(Unauthorized):
        update_executive(store())


def test_reader_rls_hides_other_tenant_even_in_sql(dash_db):
    """The query layer runs as bi_reader with the tenant set: another tenant's rows are invisible."""
    from dash_app.queries.db import fetch_all

    rows = fetch_all(TENANT_A, "kpi_chat_totals", {"start": START, "end": END, "channel": "all"}, ttl=0)
    from lib.db import tenant_tx

    with tenant_tx(TENANT_A, "reader") as conn:
        seen = conn.execute(text("SELECT DISTINCT tenant_id FROM analytics.fct_messages")).scalars().all()
    assert seen == [TENANT_A] and rows[0]["messages"] > 0


def test_runs_page_lists_tenant_runs_and_steps(dash_app_obj, dash_db):
    from fixtures_dash import RUN_A_FAIL, RUN_B_OK

    from dash_app.pages.runs import show_steps, update_runs

    window = store(start=date(2026, 1, 1), end=date(2026, 1, 31))
    with as_user(dash_app_obj, "viewer", TENANT_A):
        runs, no_refresh = update_runs(window)
        steps = show_steps([{"run_id": RUN_A_FAIL}], window)
        other = show_steps([{"run_id": RUN_B_OK}], window)  # a globex run id: not found for acme
    assert {r["run_id"] for r in runs} == {"20260110T120000Z-acme01", RUN_A_FAIL}
    failed = next(r for r in runs if r["run_id"] == RUN_A_FAIL)
    assert failed["status"] == "failed" and failed["steps_failed"] == 1
    rendered = str(steps)
    assert "boom: 3 rejects" in rendered and "celda 4" in rendered
    assert "Paso fallido" in rendered and "StepFailed:" not in rendered  # Spanish label, detail kept
    assert failed["error_es"] == "falló el paso transform_messages"
    from dash_app.pages.runs import error_es

    assert (
        error_es(None, "extract_chat: StepFailed: boom") == "falló el paso extract_chat (Paso fallido): boom"
    )
    assert no_refresh is True  # nothing queued or running: no auto-refresh
    assert failed["created_at"] == "2026-01-11 07:00:00"  # 12:00 UTC in Bogotá
    assert "no encontrada" in str(other)


def test_filters_from_url_and_back(dash_app_obj, dash_db):
    from dash_app.filters import resolve_filters
    from dash_app.security import current_user

    with as_user(dash_app_obj, "admin"):
        user = current_user()
        f = resolve_filters(
            {
                "tenant": TENANT_B,
                "range": "custom",
                "from": "2026-01-10",
                "to": "2026-01-20",
                "channel": "webchat",
            },
            user,
        )
        assert (f.tenant, f.start, f.end, f.channel, f.days) == (
            TENANT_B,
            date(2026, 1, 10),
            date(2026, 1, 20),
            "webchat",
            11,
        )
        assert resolve_filters(dict(_parse(f.to_query())), user) == f
        # presets end at the last complete local day (yesterday here), "incluir hoy" moves them to today
        seven = resolve_filters({"range": "7"}, user, today=date(2026, 2, 10))
        assert (seven.start, seven.end, seven.tenant) == (date(2026, 2, 3), date(2026, 2, 9), TENANT_A)
        with_today = resolve_filters({"range": "7", "hoy": "1"}, user, today=date(2026, 2, 10))
        assert (with_today.start, with_today.end, with_today.include_today) == (
            date(2026, 2, 4),
            date(2026, 2, 10),
            True,
        )
        assert (
            resolve_filters(dict(_parse(with_today.to_query())), user, today=date(2026, 2, 10)) == with_today
        )
        # data that stop before yesterday: the window ends on the last day with data
        stale = resolve_filters({"range": "7"}, user, today=END + timedelta(days=20))
        assert stale.end == END
        bad = resolve_filters(
            {"range": "custom", "from": "2026-02-10", "to": "2026-01-01", "channel": "fax", "tenant": "nope"},
            user,
            today=date(2026, 2, 10),
        )
        assert (bad.preset, bad.channel, bad.tenant) == ("30", "all", TENANT_A)
        prev = f.previous()
        assert (prev.start, prev.end) == (date(2026, 1, 1) - timedelta(days=2), date(2026, 1, 9))
    with as_user(dash_app_obj, "viewer", TENANT_B):
        assert resolve_filters({"tenant": TENANT_A}, current_user()).tenant == TENANT_B


def _parse(query: str):
    from urllib.parse import parse_qsl

    return parse_qsl(query.lstrip("?"))


def test_sync_url_writes_the_query(dash_app_obj, dash_db):
    from dash_app.components.filters import sync_url

    with as_user(dash_app_obj, "viewer", TENANT_A):
        search = sync_url(TENANT_B, "7", "2026-01-01", "2026-01-31", "cloudapi", False, "")
        assert dict(_parse(search)) == {"tenant": TENANT_A, "range": "7", "channel": "cloudapi"}
        today = sync_url(TENANT_B, "7", "2026-01-01", "2026-01-31", "cloudapi", True, "")
        assert dict(_parse(today))["hoy"] == "1"
        custom = sync_url(TENANT_A, "custom", "2026-01-01", "2026-01-31", "all", False, "")
        assert dict(_parse(custom))["from"] == "2026-01-01"


def test_layout_restores_controls_from_query(dash_app_obj, dash_db):
    from dash_app.pages.operations import layout

    with as_user(dash_app_obj, "admin"):
        page = layout(
            tenant=TENANT_B, range="custom", **{"from": "2026-01-10"}, to="2026-01-20", channel="webchat"
        )
    found = {}

    def walk(c) -> None:
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        if getattr(c, "id", None) in ("f-tenant", "f-range", "f-dates", "f-channel", "filters"):
            found[c.id] = c
        walk(getattr(c, "children", None))

    walk(page)
    assert found["f-tenant"].value == TENANT_B and found["f-range"].value == "custom"
    assert (found["f-dates"].start_date, found["f-dates"].end_date) == ("2026-01-10", "2026-01-20")
    assert found["f-channel"].value == "webchat"
    assert found["filters"].data["tenant"] == TENANT_B


def test_no_delta_when_the_previous_period_is_only_partly_loaded(dash_app_obj, dash_db):
    """Data start on START: a window whose previous period begins before it has nothing to compare."""
    from dash_app.pages.executive import update_executive

    cur_s, cur_e = START + timedelta(days=10), START + timedelta(days=29)  # previous: START-10 .. START+9
    with as_user(dash_app_obj, "admin"):
        cards = texts(update_executive(store(start=cur_s, end=cur_e))[0])
        covered = texts(update_executive(store(start=START + timedelta(days=20), end=cur_e))[0])
    assert cards["kpi-messages-delta"] == "sin comparación"
    assert cards["kpi-contacts-delta"] == "sin comparación"
    assert covered["kpi-messages-delta"] != "sin comparación"  # previous period START+10..+19 is loaded
