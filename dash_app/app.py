"""The Dash application: `create_app()` and the module-level Flask `server` for gunicorn
(`gunicorn dash_app.app:server`). Pages: Executive, Operations, Bot, Campaigns & push, Runs."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dash_app import api
from dash_app.components import filters as filter_components
from dash_app.components.theme import register_template
from dash_app.errors import init_errors
from dash_app.exports import init_exports
from dash_app.notebooks import init_notebooks
from dash_app.pages import bot, campaigns, executive, network, operations, reports, runs
from dash_app.report_files import init_report_files
from dash_app.security import current_user, init_auth

PAGES = (executive, operations, bot, campaigns, runs, reports)
ADMIN_PAGES = (network,)  # registered for everyone, linked (and answered) for admins only
log = logging.getLogger(__name__)


def shell() -> html.Div:
    """Navbar (links keep the filter query string) + the page container."""
    user = current_user()
    links = [dbc.NavLink(m.NAME, href=m.PATH, id=f"nav-{m.__name__.rsplit('.', 1)[-1]}") for m in PAGES]
    if user is not None and user.is_admin:
        links += [
            dbc.NavLink(m.NAME, href=m.PATH, id=f"nav-{m.__name__.rsplit('.', 1)[-1]}") for m in ADMIN_PAGES
        ]
    who = (
        html.Div(
            [
                html.Span(
                    f"{user.username} · {'admin' if user.is_admin else user.tenant_id}", id="user-badge"
                ),
                html.A("Salir", href="/logout", id="logout-link"),
            ],
            className="bi-user",
        )
        if user
        else html.Div()
    )
    return html.Div(
        [
            html.Nav(
                [
                    html.A([html.Span("inDigitall"), " BI"], href="/", className="bi-brand"),
                    html.Div(links, className="bi-nav nav", id="bi-nav"),
                    who,
                    html.Button(
                        "☰",
                        id="nav-toggle",
                        className="bi-toggle",
                        title="Menú",
                        **{"aria-label": "Menú", "aria-controls": "bi-nav", "aria-expanded": "false"},
                    ),
                ],
                className="bi-navbar",
            ),
            html.Main(dash.page_container, className="bi-main"),
        ]
    )


def nav_state(pathname: str | None, search: str | None) -> list:
    """Hrefs (with the current query) and active flags of the nav links."""
    search = search or ""
    hrefs = [m.PATH + search for m in PAGES]
    current = (pathname or "/").rstrip("/") or "/"
    active = [current == m.PATH for m in PAGES]
    return hrefs + active


def create_app() -> dash.Dash:
    """A fully wired Dash app (auth guard, API blueprint, notebooks route, pages, callbacks)."""
    register_template()
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(Path(__file__).with_name("assets")),
        suppress_callback_exceptions=True,
        title="inDigitall BI",
        update_title=None,
        serve_locally=True,
        compress=True,  # flask-compress: gzip/brotli for ~7 MB of JavaScript
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="es-CO">', 1)
    server = app.server
    init_auth(server)
    init_notebooks(server)
    init_exports(server)
    init_report_files(server)
    init_errors(server)
    server.register_blueprint(api.bp)
    for m in PAGES + ADMIN_PAGES:
        dash.register_page(
            m.__name__, path=m.PATH, name=m.NAME, title=f"{m.NAME} · inDigitall BI", layout=m.layout
        )
    app.layout = shell
    for m in PAGES + ADMIN_PAGES:
        m.register_callbacks(app)
    filter_components.register_callbacks(app)
    slugs = [m.__name__.rsplit(".", 1)[-1] for m in PAGES]
    app.callback(
        [Output(f"nav-{s}", "href") for s in slugs] + [Output(f"nav-{s}", "active") for s in slugs],
        Input(filter_components.PAGES_LOCATION, "pathname"),
        Input(filter_components.PAGES_LOCATION, "search"),
    )(nav_state)
    return app


app = create_app()
server = app.server

__all__ = ["app", "create_app", "dcc", "server"]
