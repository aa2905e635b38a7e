"""Pure pieces of the dashboards: KPI deltas/targets, number formats, figures' empty states,
redirect targets, the session key file."""

from __future__ import annotations

import os
import stat
from datetime import date

import fixtures_dash  # noqa: F401 - first: puts dash_app on sys.path

from dash_app.components.empty import is_empty_figure
from dash_app.components.theme import fmt_int, fmt_pct, fmt_seconds
from dash_app.figures import (
    funnel,
    heat_matrix,
    intents_pareto,
    messages_per_day,
    peak,
    push_heatmap,
    volume_heatmap,
)
from dash_app.kpi import Kpi, ratio
from dash_app.security import secret_key
from lib.identity import safe_next


def test_ratio_is_null_on_zero_denominator():
    assert ratio(3, 4) == 0.75
    assert ratio(0, 0) is None and ratio(5, None) is None and ratio(None, 5) is None


def test_formats_in_spanish():
    assert fmt_int(1234567) == "1.234.567" and fmt_int(None) == "—"
    assert fmt_pct(0.1234) == "12,3 %" and fmt_pct(None) == "—"
    assert fmt_seconds(42) == "42 s" and fmt_seconds(300) == "5,0 min" and fmt_seconds(7200) == "2,0 h"


def test_kpi_delta_target_and_colour():
    wait = Kpi("wait", "Espera", 45, 60, kind="seconds", up_is_good=False, target=60, target_op="<")
    assert wait.delta == -0.25 and wait.trend_good is True and wait.meets_target is True
    assert wait.delta_text == "▼ 25,0 %" and wait.target_text == "Meta < 60 s"
    fallback = Kpi("fb", "Fallback", 0.18, 0.12, kind="rate", up_is_good=False, target=0.15, target_op="<")
    assert (
        fallback.delta_text == "▲ 6,0 pp" and fallback.trend_good is False and fallback.meets_target is False
    )
    assert Kpi("m", "M", 10, 0).delta is None and Kpi("m", "M", 10, 0).delta_text == "sin comparación"
    assert (
        Kpi("m", "M", None, 3).value_text == "—" and Kpi("h", "H", 5, 3, up_is_good=None).trend_good is None
    )


def test_figures_show_the_empty_state_without_data():
    assert is_empty_figure(messages_per_day([]))
    assert is_empty_figure(volume_heatmap([]))
    assert is_empty_figure(intents_pareto([]))
    assert is_empty_figure(funnel(0, 0, 0, 0))
    assert is_empty_figure(push_heatmap([{"weekday_num": 1, "hour": 9, "ctr": None}]))
    assert not is_empty_figure(funnel(10, 9, 5, 1))


def test_heat_matrix_and_peak():
    rows = [
        {"weekday_num": 1, "hour": 9, "inbound_messages": 5},
        {"weekday_num": 7, "hour": 23, "inbound_messages": 9},
        {"weekday_num": 1, "hour": 9, "inbound_messages": 1},
    ]
    z = heat_matrix(rows)
    assert z[0][9] == 6 and z[6][23] == 9 and peak(rows) == (7, 23, 9)
    assert peak([]) is None


def test_push_heatmap_hides_only_unreported_cells():
    fig = push_heatmap([{"weekday_num": 2, "hour": 10, "ctr": 1.5}, {"weekday_num": 2, "hour": 11, "ctr": 0}])
    z = fig.data[0].z
    assert z[1][10] == 1.5 and z[0][0] is None
    assert z[1][11] == 0  # a reported 0 % CTR is a real (bad) send time: drawn, not hidden


def test_pareto_share_is_over_all_intents():
    rows = [
        {"intent": "a", "occurrences": 50, "total_all": 200},
        {"intent": "b", "occurrences": 30, "total_all": 200},
    ]
    cum = list(intents_pareto(rows).data[1].y)
    assert cum == [0.25, 0.4]  # over the 200 of every intent, not the 80 of the rows shown


def test_funnel_stages_show_the_cards_rates():
    fig = funnel(1000, 900, 450, 30)
    text = list(fig.data[0].text)
    assert "entrega 90,0 %" in text[1] and "50,0 %" in text[2] and "3,0 %" in text[3]
    assert "45,0 %" not in text[2]  # not the share of the first stage (opened ÷ sent)
    assert fig.data[0].type == "bar"  # the cartesian bundle the app loads has no funnel trace


def test_redirect_targets_stay_local():
    assert safe_next("/bot?range=7") == "/bot?range=7"
    for bad in ("//evil.example", "https://evil.example/", "\\\\evil", "javascript:alert(1)", "", None):
        assert safe_next(bad) == "/"


def test_secret_key_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DASH_SECRET_KEY", raising=False)
    k1 = secret_key(tmp_path)
    assert len(k1) == 64 and secret_key(tmp_path) == k1
    mode = stat.S_IMODE(os.stat(tmp_path / "dash_secret_key").st_mode)
    assert mode == 0o600
    monkeypatch.setenv("DASH_SECRET_KEY", "from-env-" + "x" * 40)
    assert secret_key(tmp_path).startswith("from-env-")


def test_filters_previous_period_has_equal_length():
    from dash_app.filters import Filters

    f = Filters("t", "custom", date(2026, 3, 1), date(2026, 3, 31), "all")
    p = f.previous()
    assert p.days == f.days == 31 and p.end == date(2026, 2, 28) and p.start == date(2026, 1, 29)
