"""Bot: containment, escalation, fallback rate (target < 15 %), top fallback intents, intent Pareto."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dash_app.components.cards import graph_card, kpi_placeholder
from dash_app.components.filters import denied_frame, page_frame
from dash_app.components.kpi_card import kpi_row
from dash_app.components.theme import ERROR, PRIMARY, SECONDARY
from dash_app.figures import intents_bars, intents_pareto, mark_partial, rate_lines
from dash_app.filters import resolve_filters
from dash_app.kpi import Kpi, containment_kpi, fallback_kpi
from dash_app.pages._common import comparable_previous, trusted_filters
from dash_app.queries import chat, fresh
from dash_app.queries.parallel import gather
from dash_app.security import current_user

PATH = "/bot"
NAME = "Bot"


def layout(**query: str) -> html.Div:
    user = current_user()
    if user is None:
        return denied_frame()
    f = resolve_filters(query, user)
    body = [
        kpi_placeholder("bot-kpis"),
        dbc.Row(
            [
                dbc.Col(
                    graph_card(
                        "Tasas diarias del bot",
                        "bot-rates",
                        height=300,
                        subtitle="Σ numerador ÷ Σ denominador por día",
                    ),
                    lg=7,
                ),
                dbc.Col(
                    graph_card(
                        "Intents con más fallback",
                        "bot-fallback-intents",
                        height=300,
                        subtitle="fallbacks según el último intent reconocido en la conversación",
                    ),
                    lg=5,
                ),
            ],
            className="g-3 mb-3",
        ),
        graph_card(
            "Pareto de intents",
            "bot-pareto",
            height=360,
            subtitle="conversaciones por primer intent con sentido (sin bienvenida ni fallback); "
            "% acumulado sobre todos los intents",
        ),
    ]
    return page_frame("Bot", f, user, body)


def bot_kpis(cur: dict[str, Any], prev: dict[str, Any]) -> list[Kpi]:
    return [
        containment_kpi(cur, prev),
        Kpi(
            "escalation",
            "Escalamiento",
            cur.get("escalation"),
            prev.get("escalation"),
            kind="rate",
            up_is_good=False,
            help="conversaciones con bot y humano ÷ conversaciones con bot",
        ),
        fallback_kpi(cur, prev),
        Kpi(
            "bot_conversations",
            "Conversaciones con bot",
            cur.get("bot_conversations"),
            prev.get("bot_conversations"),
        ),
        Kpi("bot_messages", "Mensajes del bot", cur.get("bot_messages"), prev.get("bot_messages")),
    ]


def update_bot(store: dict[str, Any] | None) -> tuple:
    """(cards, daily rates, top fallback intents, Pareto)."""
    f = trusted_filters(store)
    p = comparable_previous(f)
    r = gather(cur=lambda: chat.totals(f), prev=lambda: chat.totals(p) if p else {},
               intents=lambda: chat.intents(f, limit=10), context=lambda: chat.fallback_context(f),
               daily=lambda: chat.daily(f), fresh=lambda: fresh.freshness(f.tenant))  # fmt: skip
    cur, prev, intents = r["cur"], r["prev"], r["intents"]
    rates = rate_lines(
        r["daily"],
        {
            "Contención": ("contained_conversations", "bot_conversations", SECONDARY),
            "Escalamiento": ("escalated_conversations", "bot_conversations", PRIMARY),
            "Fallback": ("fallback_count", "bot_answered_inbound", ERROR),
        },
    )
    return (
        kpi_row(bot_kpis(cur, prev)),
        mark_partial(rates, r["fresh"].partial_days(f.start, f.end)),
        intents_bars(r["context"], value="fallbacks", title="Fallbacks"),
        intents_pareto(intents),
    )


def register_callbacks(app) -> None:  # noqa: ANN001 - dash.Dash
    app.callback(
        Output("bot-kpis", "children"),
        Output("bot-rates", "figure"),
        Output("bot-fallback-intents", "figure"),
        Output("bot-pareto", "figure"),
        Input("filters", "data"),
    )(update_bot)
