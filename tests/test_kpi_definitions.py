"""The KPI definitions a contact-centre analyst uses (docs/contracts.md "KPI definitions"), on the
hand-made EDGE tenant of fixtures_dbt: each assertion fails on the definition it replaced."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_dbt import EDGE, Built
from sqlalchemy import text

from lib.analysis import kpis
from lib.db import tenant_tx

W = kpis.Window(date(2026, 3, 10), date(2026, 3, 12))


def q(built: Built, sql: str) -> list:
    with tenant_tx(EDGE, "reader", built.db_url) as conn:
        return conn.execute(text(sql)).all()


def test_containment_excludes_conversations_that_reached_the_agent_queue(dbt_build: Built) -> None:
    assert dbt_build.result.ok, dbt_build.result.errors
    t = kpis.chat_totals(kpis.analysis_fetch(EDGE), W)
    # bot conversations: e1 (gave up in the queue), e2 twice, e3, e5; old rule: all 5 "contained"
    assert (t["bot_conversations"], t["contained_conversations"], t["escalated_conversations"]) == (5, 4, 1)
    assert t["containment"] == pytest.approx(0.8) and t["escalation"] == pytest.approx(0.2)
    e1 = q(dbt_build, "SELECT is_contained, is_escalated, reached_queue, has_human FROM analytics.fct_conversations "
                      "WHERE contact_id = 'e1'")  # fmt: skip
    assert [tuple(r) for r in e1] == [(False, True, True, False)]


def test_fallback_numerator_is_inbound_messages_with_an_intent(dbt_build: Built) -> None:
    t = kpis.chat_totals(kpis.analysis_fetch(EDGE), W)
    # e1-4 is a bot message flagged as fallback: not a fallback of the contact's message
    assert (t["fallback_count"], t["bot_answered_inbound"]) == (1, 9)
    assert t["fallback_rate"] == pytest.approx(1 / 9)


def test_repeat_contact_is_censored_at_the_end_of_the_data(dbt_build: Built) -> None:
    # closed: e1, e2 (back at 20:00), e3 and e4 (closed < 24 h before the data end: not observable yet)
    assert kpis.repeat_contact(kpis.analysis_fetch(EDGE), W) == pytest.approx(1 / 2)  # old: 1 / 4


def test_first_meaningful_intent_skips_the_welcome(dbt_build: Built) -> None:
    rows = dict(
        (r[0], (r[1], r[2]))
        for r in q(
            dbt_build,
            "SELECT contact_id || '@' || to_char(started_at AT TIME ZONE 'America/Bogota', 'HH24'), "
            "first_intent, first_meaningful_intent FROM analytics.fct_conversations",
        )  # fmt: skip
    )
    assert rows["e1@10"] == ("Default Welcome Intent", "[1.2] Consulta de saldo")
    assert rows["e2@11"] == ("Default Welcome Intent", "[3.1] Oficinas y horarios")
    assert rows["e5@23"] == ("Default Welcome Intent", None)  # only a greeting: no meaningful intent
    top = kpis.analysis_fetch(EDGE)("kpi_intents", {**W.params(), "row_limit": 10})
    assert "Default Welcome Intent" not in {r["intent"] for r in top}
    assert {int(r["total_all"]) for r in top} == {sum(int(r["occurrences"]) for r in top)}


def test_fallbacks_are_ranked_by_the_intent_before_them(dbt_build: Built) -> None:
    rows = q(
        dbt_build, "SELECT context_intent, sum(fallbacks) FROM analytics.mart_fallback_context GROUP BY 1"
    )
    assert [tuple(r) for r in rows] == [("[1.2] Consulta de saldo", 1)]


def test_service_level_uses_the_marts_flags(dbt_build: Built) -> None:
    s = kpis.sessions(kpis.analysis_fetch(EDGE), W)
    # es4 waited 8 min (not within 60 s), es1 abandoned after 22 min: both in the base
    assert (s["within_sl"], s["sl_base"], s["abandoned"], s["queued"]) == (0, 2, 1, 2)
    assert s["service_level"] == 0 and s["abandonment"] == pytest.approx(0.5)


def test_post_transform_totals_follow_the_dashboards(
    dbt_build: Built,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lib.config import reload_settings
    from lib.transform import run_transform

    monkeypatch.setenv("TENANT_ID", EDGE)
    monkeypatch.setenv("TENANTS_FILE", "/nonexistent/tenants.yml")
    reload_settings()
    try:
        for name in ("contacts_totals", "daily_stats_totals", "agents"):
            res = run_transform(name, tenant_id=EDGE, full_refresh=True)
            assert res.ok, res.errors
    finally:
        monkeypatch.undo()
        reload_settings()
    daily = dict(
        (str(r[0]), r[1:])
        for r in q(dbt_build, "SELECT date, conversations, fallback_count FROM public.daily_stats")
    )
    # e4's agent session crosses midnight: one conversation, on 2026-03-11 (old: one on each day)
    assert daily == {"2026-03-10": (3, 1), "2026-03-11": (1, 0), "2026-03-12": (2, 0)}
    contacts = dict(q(dbt_build, "SELECT contact_id, total_conversations FROM public.contacts"))
    assert contacts == {"e1": 1, "e2": 2, "e3": 1, "e4": 1, "e5": 1}  # old: e2 0 (no agent session)
    agents = dict(q(dbt_build, "SELECT agent_id, total_messages FROM public.agents"))
    assert agents == {"a9": 2}  # the agent's own messages (old: 3, the contact's reply carries agentId)
    marts = q(dbt_build, "SELECT sum(conversations) FROM analytics.mart_daily_kpis")
    assert marts[0][0] == sum(v[0] for v in daily.values())
