"""One KPI source: for the same tenant, window and channel, every surface shows the same value for
every KPI — the Dash callbacks' cards, the Voila views' `lib.analysis` loaders, the KPI export and the
weekly report (all on the dbt-built simulator data of the session)."""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
from collections.abc import Iterator
from datetime import date

import pytest
from fixtures_dash import as_user, session_user  # first: puts dash_app on sys.path
from fixtures_dbt import Built

from lib.analysis import agents, funnel, intents, kpis, push
from lib.analysis.display import format_value
from lib.analysis.params import Filters

TENANT = "demo"
START, END = date(2026, 3, 2), date(2026, 3, 8)  # ISO week 2026-W10 (Monday..Sunday)
# Dash card id -> KPI key
CARDS = {
    "messages": "messages", "contacts": "unique_contacts", "conversations": "conversations", "wait": "wait_p50",
    "fallback": "fallback_rate", "containment": "containment", "service_level": "service_level",
    "push_ctr": "push_ctr", "first_response": "first_response_p50", "handle": "handle_p50",
    "abandonment": "abandonment", "transfers": "transfers", "messages_per_conversation": "messages_per_conversation",
    "outbound_delivery": "outbound_delivery", "outbound_read": "outbound_read", "repeat_contact": "repeat_contact",
    "escalation": "escalation", "bot_conversations": "bot_conversations", "bot_messages": "bot_messages",
    "push_sent": "push_sent", "push_delivery": "push_delivery", "push_open": "push_open",
}  # fmt: skip


@pytest.fixture(scope="module")
def app(dbt_build: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The Dash app on the session's dbt-built database, with the demo tenant configured."""
    root = tmp_path_factory.mktemp("surfaces")
    (root / "tenants.yml").write_text(
        f"tenants:\n  - id: {TENANT}\n    name: Demo\n    timezone: America/Bogota\n", encoding="utf-8"
    )
    env = {"TENANTS_FILE": str(root / "tenants.yml"), "TENANT_ID": TENANT, "RUNS_DIR": str(root / "runs"),
           "DASH_SECRET_KEY": secrets.token_hex(32)}  # fmt: skip
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from lib.config import reload_settings

    reload_settings()
    from dash_app.app import create_app
    from dash_app.queries import cache_clear

    cache_clear()
    try:
        yield create_app()
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        reload_settings()
        cache_clear()


def _texts(component) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(c) -> None:
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        if getattr(c, "id", None) and isinstance(getattr(c, "children", None), str):
            out[c.id] = c.children
        walk(getattr(c, "children", None))

    walk(component)
    return out


def dash_cards(app, channel: str) -> dict[str, str]:
    from dash_app.pages.bot import update_bot
    from dash_app.pages.campaigns import update_push
    from dash_app.pages.executive import update_executive
    from dash_app.pages.operations import update_operations

    store = {"tenant": TENANT, "preset": "custom", "start": START.isoformat(), "end": END.isoformat(),
             "channel": channel}  # fmt: skip
    with as_user(app, "admin"):
        ex, ops, bot, pu = (
            update_executive(store),
            update_operations(store),
            update_bot(store),
            update_push(store),
        )
    texts: dict[str, str] = {}
    for part in (ex[0], ex[3], ops[0], ops[1], bot[0], pu[0]):
        texts.update(_texts(part))
    return {key: texts[f"kpi-{card}-value"] for card, key in CARDS.items() if f"kpi-{card}-value" in texts}


def voila_cards(channel: str) -> dict[str, str]:
    f = Filters(TENANT, START, END, "America/Bogota", channel)
    out: dict[str, str] = {}
    for cards in (funnel.kpis(f), intents.kpis(f), agents.kpis(f), push.kpis(f)):
        for value, key in cards.values():
            if key in kpis.KPIS:
                out[key] = format_value(value, key)
    return out


def export_values(app, channel: str) -> dict[str, float | None]:
    client = app.server.test_client()
    with client.session_transaction() as s:
        s["user"] = session_user("admin")
    resp = client.get(
        f"/export/indicadores.csv?tenant={TENANT}&range=custom&from={START}&to={END}&channel={channel}"
    )
    assert resp.status_code == 200 and resp.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Indicador", "Clave", "Valor", "Unidad", "Periodo anterior"]
    out = {}
    for _label, key, value, unit, _prev in rows[1:]:
        v = None if value == "" else float(value.replace(",", "."))
        out[key] = None if v is None else (v / 100 if unit == "%" else v)
    return out


@pytest.mark.parametrize("channel", ["all", "cloudapi"])
def test_every_surface_shows_the_same_value_for_every_kpi(app, channel: str) -> None:
    source = kpis.window_kpis(kpis.analysis_fetch(TENANT), kpis.Window(START, END, channel))
    expected = {k: kpis.format_value(k, v) for k, v in source.items()}
    dash = dash_cards(app, channel)
    assert len(dash) == len(CARDS)
    assert dash == {k: expected[k] for k in dash}
    voila = voila_cards(channel)
    assert {"containment", "service_level", "abandonment", "fallback_rate", "push_open"} <= set(voila)
    assert voila == {k: expected[k] for k in voila}
    exported = export_values(app, channel)
    assert set(exported) == set(kpis.KPIS)
    for key, value in source.items():
        assert (exported[key] is None) == (value is None), key
        if value is not None:
            assert exported[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
    # the values differ between channels (the channel is really applied everywhere)
    assert source["messages"] and source["containment"] is not None


def test_weekly_report_shows_the_same_values(app) -> None:
    from lib.report.weekly import build, render_html

    report = build(TENANT, "2026-W10")
    assert (report.start, report.end) == (START, END)
    source = kpis.window_kpis(kpis.analysis_fetch(TENANT), kpis.Window(START, END))
    assert report.current == source
    dash = dash_cards(app, "all")
    page = render_html(report)
    shown = dict(re.findall(r'<tr data-kpi="(\w+)"><td>[^<]*</td><td class="n kpi-value">([^<]*)</td>', page))
    import html as _html

    shown = {k: _html.unescape(v) for k, v in shown.items()}
    assert shown and all(shown[k] == dash[k] for k in shown if k in dash)
    assert shown["containment"] == dash["containment"] and shown["service_level"] == dash["service_level"]
