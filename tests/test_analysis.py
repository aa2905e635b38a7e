"""lib.analysis: NPS parsing, figure builders, filters, error boxes (unit) and the mart queries (DB)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from lib.analysis import agents, funnel, intents, nps, push
from lib.analysis.display import PLOTLY_MIME, AnalysisError, error_html, guard, kpi_html, table_html
from lib.analysis.params import Filters, query_overrides, resolve_filters

DEMO = Filters("demo", date(2026, 3, 2), date(2026, 3, 15))


def flow(answers: dict) -> str:
    return json.dumps(
        {"eventName": "FLOW_RESPONSE_EVENT", "eventParameters": {"flowResponse": answers}}, ensure_ascii=False
    )


# -- NPS parsing ------------------------------------------------------------------------------------
def test_parse_flow_event_reads_questions_and_answers() -> None:
    body = flow({"¿La atención fue rápida?": "⏱️ Sí ", "Califica la atención de 1 a 5": "4"})
    assert nps.parse_flow_event(body) == {
        "¿La atención fue rápida?": "⏱️ Sí ",
        "Califica la atención de 1 a 5": "4",
    }


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "not json",
        "[1,2]",
        json.dumps({"eventName": "OTHER", "eventParameters": {"flowResponse": {"a": "b"}}}),
        json.dumps({"eventName": "FLOW_RESPONSE_EVENT"}),
        json.dumps({"eventName": "FLOW_RESPONSE_EVENT", "eventParameters": {"flowResponse": {}}}),
    ],
)
def test_parse_flow_event_ignores_other_bodies(body: str | None) -> None:
    assert nps.parse_flow_event(body) is None


def test_parse_flow_event_tolerates_double_encoding_and_string_response() -> None:
    inner = {"eventName": "FLOW_RESPONSE_EVENT", "eventParameters": {"flowResponse": json.dumps({"q": "5"})}}
    assert nps.parse_flow_event(json.dumps(json.dumps(inner))) == {"q": "5"}


@pytest.mark.parametrize(
    ("raw", "clean", "score"),
    [
        ("⏱️ Sí ", "Sí", 1.0),
        ("🐢 No ", "No", 0.0),
        ("✅ Sí", "Sí", 1.0),
        ("❌ No", "No", 0.0),
        ("🤷 En parte", "En parte", 0.5),
        ("5", "5", 5.0),
        (" 3 ", "3", 3.0),
        ("Tal vez 🙂", "Tal vez", None),
    ],
)
def test_clean_and_score_answers(raw: str, clean: str, score: float | None) -> None:
    assert nps.clean_text(raw) == clean
    assert nps.answer_score(raw) == score


def _events() -> pd.DataFrame:
    t0 = datetime(2026, 3, 2, 15, tzinfo=UTC)
    rows = [
        ("m1", t0, "c1", "cloudapi", flow({"¿Rápida?": "⏱️ Sí ", "Califica de 1 a 5": "5"})),
        (
            "m2",
            t0 + timedelta(hours=1),
            "c2",
            "cloudapi",
            flow({"¿Rápida?": "🐢 No ", "Califica de 1 a 5": "2"}),
        ),
        (
            "m3",
            t0 + timedelta(hours=2),
            "c3",
            "webchat",
            flow({"¿Rápida?": "⏱️ Sí ", "Califica de 1 a 5": "4"}),
        ),
        ("m4", t0 + timedelta(hours=3), "c1", "cloudapi", '{"type":"button"}'),
    ]
    return pd.DataFrame(
        rows, columns=["message_id", "message_ts", "contact_id", "channel", "message_body"]
    ).assign(date=date(2026, 3, 2), conversation_key="k")


def test_responses_summary_and_scores() -> None:
    long = nps.responses_long(_events())
    assert len(long) == 6 and set(long["question"]) == {"¿Rápida?", "Califica de 1 a 5"}
    summary = nps.question_summary(long).set_index("question")
    assert summary.loc["¿Rápida?", "kind"] == "yes_no"
    assert summary.loc["¿Rápida?", "score"] == pytest.approx(200 / 3)
    assert summary.loc["Califica de 1 a 5", "kind"] == "scale_5"
    assert summary.loc["Califica de 1 a 5", "score"] == pytest.approx(200 / 3)  # 5 and 4 of 5, 4, 2
    dist = nps.answer_distribution(long)
    assert dist.groupby("question")["share"].sum().round(6).eq(100).all()


def test_nps_scale_10_is_promoters_minus_detractors() -> None:
    s = pd.Series([10.0, 9.0, 8.0, 3.0])
    assert nps.question_kind(s) == "scale_10"
    assert nps.score_of(s, "scale_10") == pytest.approx(25.0)


def test_attribute_agents_uses_latest_session_before_the_answer() -> None:
    long = nps.responses_long(_events())
    t0 = datetime(2026, 3, 2, 15, tzinfo=UTC)
    sessions = pd.DataFrame(
        [
            ("c1", "1001", "a@x", "s1", t0 - timedelta(hours=5)),
            ("c1", "1002", "b@x", "s2", t0 - timedelta(minutes=3)),
            ("c2", "1003", "c@x", "s3", t0 + timedelta(hours=2)),  # after c2's answer: not attributed
        ],
        columns=["contact_id", "agent_id", "agent_email", "session_id", "ended_at"],
    )
    out = nps.attribute_agents(long, sessions)
    by_msg = out.drop_duplicates("message_id").set_index("message_id")["agent_id"]
    assert by_msg["m1"] == "1002" and by_msg["m2"] == nps.NO_AGENT and by_msg["m3"] == nps.NO_AGENT
    scores = nps.entity_scores(out, "agent_id")
    assert set(scores["agent_id"]) == {"1002", nps.NO_AGENT}
    fig = nps.entity_figure(scores, "agent_id", "asesor")
    assert fig.data[0].type == "heatmap"


def test_nps_builders_handle_no_data() -> None:
    long = nps.responses_long(
        pd.DataFrame(columns=["message_id", "message_ts", "contact_id", "channel", "message_body", "date"])
    )
    assert long.empty
    assert nps.attribute_agents(long, pd.DataFrame()).empty
    assert nps.distribution_figure(nps.answer_distribution(long)).layout.annotations


# -- funnel / intents / agents / push builders --------------------------------------------------------
def _conv() -> pd.DataFrame:
    rows = [
        (date(2026, 3, 2), "cloudapi", "Saludo", "Contenida por el bot", 10, 10, 0, 10, 0, 0, 0, 1),
        (date(2026, 3, 2), "cloudapi", "Saludo", "Atendida por asesor", 5, 5, 5, 0, 5, 5, 5, 0),
        (date(2026, 3, 3), "webchat", "Saldo", "Abandonada en cola", 2, 2, 0, 0, 2, 0, 0, 0),
    ]
    cols = [
        "date",
        "channel",
        "first_intent",
        "outcome",
        "conversations",
        "bot_conversations",
        "escalated",
        "contained",
        "reached_queue",
        "assigned",
        "human_answered",
        "with_fallback",
    ]
    return pd.DataFrame(rows, columns=cols)


def test_one_ratio_on_one_scale() -> None:
    from lib.analysis import kpis

    assert kpis.ratio(1, 4) == 0.25 and kpis.ratio(1, 0) is None and kpis.ratio(None, 3) is None
    assert getattr(funnel, "ratio", kpis.ratio) is kpis.ratio  # the percent-scale duplicate is gone


def test_funnel_stages_paths_and_figures() -> None:
    stages = funnel.funnel_stages(_conv())
    cloud = stages[stages["channel"] == "cloudapi"].set_index("stage")["conversations"]
    assert cloud["Conversaciones"] == 15 and cloud["Respondidas por un asesor"] == 5
    links = funnel.escalation_paths(_conv())
    assert {"Canal: cloudapi", "Saludo", "Contenida por el bot"} <= set(links["source"]) | set(
        links["target"]
    )
    assert funnel.sankey_figure(links).data[0].type == "sankey"
    assert funnel.funnel_figure(stages).data[0].type == "funnel"
    daily = funnel.daily_rates(_conv())
    assert daily["containment"].iloc[0] == pytest.approx(10 / 15)
    table = funnel.outcome_table(_conv())
    assert table.iloc[0]["Intent inicial"] == "Saludo"


def test_empty_frames_give_placeholder_figures() -> None:
    empty = _conv().iloc[0:0]
    for fig in (
        funnel.funnel_figure(funnel.funnel_stages(empty)),
        funnel.sankey_figure(funnel.escalation_paths(empty)),
        intents.pareto_figure(intents.pareto(pd.DataFrame())),
        push.heatmap_figure(push.heatmap_matrix(pd.DataFrame())),
    ):
        assert fig.layout.annotations[0].text.startswith("Sin datos")


def test_intents_pareto_and_fallback_rate() -> None:
    df = pd.DataFrame(
        [
            ("A", "cloudapi", 60, 0, 6),
            ("B", "cloudapi", 30, 0, 0),
            ("Default Fallback Intent", "webchat", 10, 10, 5),
        ],
        columns=["intent", "channel", "occurrences", "fallbacks", "escalated"],
    )
    p = intents.pareto(df)
    assert list(p["intent"]) == ["A", "B", "Default Fallback Intent"]
    assert p["cum_share"].iloc[-1] == pytest.approx(1)
    assert intents.pareto(df.assign(total_all=400))["share"].iloc[0] == pytest.approx(60 / 400)
    daily = pd.DataFrame(
        [(date(2026, 3, 2), "cloudapi", 3, 100, 120), (date(2026, 3, 2), "webchat", 1, 0, 5)],
        columns=["date", "channel", "fallback_count", "bot_answered_inbound", "inbound_messages"],
    )
    assert intents.daily_fallback(daily)["fallback_rate"].iloc[0] == pytest.approx(0.04)


def test_agent_wait_buckets_and_table() -> None:
    s = pd.DataFrame(
        {
            "agent_id": ["1", "1", "2", "2", "(sin asignar)"],
            "agent_email": ["a@x", None, "b@x", "b@x", None],
            "contact_id": ["c1", "c2", "c3", "c3", "c4"],
            "date": [date(2026, 3, 2)] * 5,
            "hour": [9, 10, 9, 23, 9],
            "weekday_num": [1, 1, 2, 7, 1],
            "wait_seconds": [30, 400, 2000, -5, None],
            "handle_seconds": [600, 1200, 60, 60, None],
            "is_assigned": [True, True, True, True, False],
            "is_anomaly": [False, False, False, True, False],
            "is_abandoned": [False, False, False, False, True],
            "is_transfer": [False, True, False, False, False],
        }
    )
    b = agents.wait_buckets(s).set_index("bucket")["sessions"]
    assert b["< 1 min"] == 1 and b["5–15 min"] == 1 and b["30+ min"] == 1 and b.sum() == 3
    t = agents.agent_table(agents.with_agent_labels(s)).set_index("Asesor")
    assert t.loc["a@x", "Sesiones"] == 2 and t.loc["a@x", "Transferencias"] == 1  # the person, not "1"
    assert t.loc["b@x", "Espera mediana (s)"] == 2000  # the anomaly (-5 s) is excluded
    grid = agents.workload_matrix(s)
    assert grid.loc[1, 9] == 2 and grid.loc[7, 23] == 1


def test_push_rates_heatmap_and_league() -> None:
    daily = pd.DataFrame(
        [(date(2026, 3, 2), "android", 1000, 900, 100, 30), (date(2026, 3, 2), "ios", 0, 0, 0, 0)],
        columns=["date", "platform", "sent", "delivered", "opened", "clicks"],
    )
    r = push.rates(daily)
    assert r["ctr"] == pytest.approx(0.03) and r["ctr_delivered"] == pytest.approx(30 / 900)
    assert pd.isna(push.daily_ctr(daily).set_index("platform").loc["ios", "ctr"])
    heat = pd.DataFrame(
        [("general", "monday", 1, 8, 2.5), ("general", "sunday", 7, 22, 4.0)],
        columns=["canal", "weekday", "weekday_num", "hour", "ctr"],
    )
    grid = push.heatmap_matrix(heat)
    assert push.best_send_time(grid) == ("Dom", 22, 4.0)
    camps = pd.DataFrame(
        [
            ("1", "A", "push", 50, 50, 40, 25),
            ("2", "B", "push", 1000, 950, 100, 20),
            ("3", "C", "push", 500, 480, 60, 30),
        ],
        columns=["campaign_id", "campaign_name", "channel", "sent", "delivered", "opened", "clicks"],
    )
    lg = push.league(camps)
    assert list(lg["Campaña"]) == ["C", "B"]  # A has < 100 sent


# -- filters and rendering helpers --------------------------------------------------------------------
def test_resolve_filters_defaults_and_validation() -> None:
    f = resolve_filters("demo", None, "2026-03-15", 14)
    assert (f.date_from, f.date_to, f.days) == (date(2026, 3, 2), date(2026, 3, 15), 14)
    assert resolve_filters("demo", latest=date(2026, 1, 31), days=7).date_from == date(2026, 1, 25)
    with pytest.raises(AnalysisError, match="posterior"):
        resolve_filters("demo", "2026-03-15", "2026-03-01")
    with pytest.raises(AnalysisError, match="fecha válida"):
        resolve_filters("demo", "ayer", None)


def test_default_window_ends_yesterday_in_the_tenants_zone(monkeypatch) -> None:
    """03:00 UTC on 1 March is still 28 February in Bogotá (UTC-5): yesterday there is the 27th."""
    monkeypatch.setenv("BI_CLOCK_NOW", "2026-03-01T03:00:00Z")
    f = resolve_filters("demo", None, None, 7)
    assert f.timezone == "America/Bogota"
    assert (f.date_from, f.date_to) == (date(2026, 2, 21), date(2026, 2, 27))


def test_query_string_overrides_parameters() -> None:
    qs = "tenant=acme&date_from=2026-03-09&date_to=2026-03-12&other=x"
    assert query_overrides(qs) == {"tenant": "acme", "date_from": "2026-03-09", "date_to": "2026-03-12"}
    f = resolve_filters("demo", None, None, query_string=qs)
    assert (f.tenant, f.date_from, f.date_to) == ("acme", date(2026, 3, 9), date(2026, 3, 12))
    assert "tenant=acme" in f.query_string()


def test_the_kernel_identity_decides_the_tenant(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A viewer gets its own tenant whatever TENANT / ?tenant= / a widget asks; an admin its pick;
    a Voila kernel without an identity resolves none; the identity is set once."""
    from lib.analysis import nb, params
    from lib.config import reload_settings

    tenants = tmp_path / "tenants.yml"
    tenants.write_text("tenants:\n  - id: demo\n  - id: acme\n    timezone: America/Mexico_City\n")
    monkeypatch.setenv("TENANTS_FILE", str(tenants))
    reload_settings()
    monkeypatch.setattr(params, "_identity", None)
    try:
        monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5")
        with pytest.raises(AnalysisError, match="inicie sesión"):
            resolve_filters("demo", "2026-03-01", "2026-03-02")
        params.set_identity("v", "viewer", "acme")
        with pytest.raises(AnalysisError):
            params.set_identity("v", "admin", None)  # once only
        for asked in (None, "demo", "acme"):
            f = resolve_filters(asked, "2026-03-01", "2026-03-02", query_string="?tenant=demo")
            assert (f.tenant, f.timezone) == ("acme", "America/Mexico_City")
        assert nb.tenant_options("demo") == ["acme"]
        monkeypatch.setattr(params, "_identity", None)
        params.set_identity("a", "admin", None)
        assert resolve_filters("x", "2026-03-01", "2026-03-02", query_string="?tenant=acme").tenant == "acme"
        assert nb.tenant_options("acme") == ["demo", "acme"]
        monkeypatch.setattr(params, "_identity", None)
        monkeypatch.delenv("SERVER_SOFTWARE")  # papermill / Lab: the parameters decide
        assert resolve_filters("acme", "2026-03-01", "2026-03-02", query_string="").tenant == "acme"
    finally:
        monkeypatch.delenv("TENANTS_FILE")
        reload_settings()


def test_error_box_is_readable_html_without_traceback() -> None:
    box = error_html("No se pudieron cargar los datos", AnalysisError("falta <algo>"))
    assert 'class="bi-error"' in box and "falta &lt;algo&gt;" in box and "Traceback" not in box


def test_guard_swallows_and_shows_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list = []
    monkeypatch.setattr("lib.analysis.display._display", lambda obj, raw=False: shown.append(obj))
    with guard():
        raise AnalysisError("sin conexión")
    assert "No se pudieron cargar los datos: sin conexión" in shown[0].data


def test_kpi_and_table_html() -> None:
    assert "bi-kpi" in kpi_html({"Mensajes": (1234, "int"), "Tasa": (None, "pct")})
    assert "1.234" in kpi_html({"Mensajes": (1234, "int")})
    assert "58,0 %" in kpi_html({"Contención": (0.58, "containment")})  # es-CO, not "58.0 %"
    table = table_html(pd.DataFrame({"Enviados": [4051.0], "CTR %": [0.0352], "Día": [date(2026, 3, 2)]}))
    assert "4.051" in table and "3,5 %" in table and "02/03/2026" in table and "4051.0" not in table
    html = table_html(pd.DataFrame({"a": range(60)}), caption="T", max_rows=10)
    assert "bi-table" in html and "50 filas más" in html


# -- queries against the marts (reader role, RLS) -------------------------------------------------------
def _capture(monkeypatch: pytest.MonkeyPatch) -> list:
    shown: list = []
    monkeypatch.setattr("lib.analysis.display._display", lambda obj, raw=False: shown.append(obj))
    return shown


@pytest.mark.slow
@pytest.mark.parametrize(
    "module", [funnel, intents, agents, push, nps], ids=lambda m: m.__name__.split(".")[-1]
)
def test_reports_render_from_the_marts(dbt_build, module, monkeypatch: pytest.MonkeyPatch) -> None:
    assert dbt_build.result.ok, dbt_build.result.errors
    shown = _capture(monkeypatch)
    with guard():
        module.report(DEMO)
    texts = [getattr(o, "data", None) for o in shown if hasattr(o, "data")]
    assert not any("bi-error" in t for t in texts if isinstance(t, str)), texts
    figures = [o for o in shown if isinstance(o, dict) and PLOTLY_MIME in o]
    assert len(figures) >= 2
    # the first figure has data (not the "Sin datos" placeholder)
    assert any(f[PLOTLY_MIME]["data"] for f in figures)


@pytest.mark.slow
def test_queries_see_only_the_tenant(dbt_build) -> None:
    demo = funnel.load(DEMO)["funnel_conversations"]
    assert demo["conversations"].sum() > 100
    nobody = funnel.load(Filters("nobody", DEMO.date_from, DEMO.date_to))["funnel_conversations"]
    assert nobody.empty
    acme = agents.load(Filters("acme", date(2026, 3, 9), date(2026, 3, 12), "America/Mexico_City"))
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner").connect() as conn:  # superuser: sees every tenant
        counts = dict(
            conn.execute(
                text(
                    "SELECT tenant_id, count(*) FROM analytics.fct_agent_sessions "
                    "WHERE date BETWEEN '2026-03-09' AND '2026-03-12' GROUP BY tenant_id"
                )
            ).all()
        )
    assert len(acme) == counts["acme"] and counts["demo"] > 0


@pytest.mark.slow
def test_nps_answers_found_in_simulator_data(dbt_build) -> None:
    frames = nps.load(DEMO)
    long = nps.attribute_agents(nps.responses_long(frames["nps_events"]), frames["nps_sessions"])
    assert not long.empty
    summary = nps.question_summary(long).set_index("question")
    assert summary.loc["Califica la atención de 1 a 5", "kind"] == "scale_5"
    assert summary.loc["¿La atención fue rápida?", "kind"] == "yes_no"
    assert (long["agent_id"] != nps.NO_AGENT).mean() > 0.8  # surveys follow an agent session
