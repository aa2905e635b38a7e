"""The frame every analysis notebook uses: parameters → filters, a header, ipywidgets controls, a
guarded report.

    view = View("Embudo de conversaciones", funnel.report, TENANT, DATE_FROM, DATE_TO, DAYS)
    view.controls()   # tenant / dates / presets + "Aplicar"
    view.render()     # the report for the resolved filters; failures become an HTML error box

Under Voila "Aplicar" reloads the page with `?tenant=…&date_from=…&date_to=…` (the notebook runs
again server-side, so the page itself holds the charts and the URL reproduces the view); in
JupyterLab it re-renders the report below the controls.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date, timedelta

from lib import clock
from lib.analysis import display as d
from lib.analysis.params import (
    Filters,
    allowed_tenants,
    current_identity,
    in_voila,
    query_overrides,
    resolve_filters,
    resolve_tenant,
)

Report = Callable[[Filters], None]
PRESETS = {"7 días": 7, "30 días": 30, "90 días": 90}


def tenant_options(current: str | None) -> list[str]:
    """The tenant ids this kernel's user may pick (a viewer: its own), plus the current one."""
    ids: list[str] = []
    try:
        from lib.config import load_tenants

        ids = [t.id for t in load_tenants()]
    except Exception:  # a broken tenants.yml must not hide the controls
        ids = []
    who = current_identity()
    if who is not None and not who.is_admin:
        return [who.tenant or ""]
    ids = allowed_tenants(ids)
    if current and current not in ids:
        ids.insert(0, current)
    return ids or ["demo"]


class View:
    """One analysis view: resolved filters, controls and a guarded report."""

    def __init__(
        self,
        title: str,
        report: Report,
        tenant: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        days: int | str | None = 30,
    ) -> None:
        self.title = title
        self.report = report
        self.error: Exception | None = None
        self.filters: Filters | None = None
        self.freshness = None
        self._raw = (tenant, date_from, date_to, days)
        try:
            latest = None
            tenant_id, tz = resolve_tenant(query_overrides().get("tenant") or tenant)
            self.freshness = self._freshness(tenant_id, tz)
            if date_to in (None, "") and not query_overrides().get("date_to") and self.freshness:
                latest = self.freshness.last_complete_day  # presets end at the last complete local day
            self.filters = resolve_filters(tenant, date_from, date_to, days, latest=latest)
        except Exception as exc:  # shown by render() as an error box
            self.error = exc

    @staticmethod
    def _freshness(tenant: str, tz: str):  # lib.analysis.periods.Freshness | None
        try:
            from lib.analysis.kpis import analysis_fetch
            from lib.analysis.periods import freshness

            return freshness(analysis_fetch(tenant), tz)
        except Exception:  # no marts / database down: render() reports it
            return None

    # -- header and controls ---------------------------------------------------------------------
    def header_html(self) -> str:
        """Title, the active filters and "datos al …" (latest loaded data, last successful run)."""
        sub = self.filters.label() if self.filters else "filtros no válidos"
        fresh = self.freshness.label() if self.freshness else ""
        return (
            f'<div class="bi-header" style="font-family:sans-serif"><h2 style="color:#1A1A2E;margin:4px 0">'
            f'{html.escape(self.title)}</h2><div style="color:#6B7280">{html.escape(sub)}</div>'
            f'<div class="bi-freshness" style="color:#6B7280;font-size:13px">{html.escape(fresh)}</div></div>'
        )

    def controls(self) -> None:
        """Show the header and the ipywidgets controls (tenant, dates, presets, Aplicar)."""
        from IPython.display import HTML, display

        display(HTML(self.header_html()))
        with d.guard("No se pudieron mostrar los controles"):
            self._widgets()

    def _widgets(self) -> None:
        import ipywidgets as w
        from IPython.display import HTML, display

        f = self.filters
        today = clock.today(f.timezone if f else "UTC")
        tenant = w.Dropdown(
            description="Cliente",
            options=tenant_options(f.tenant if f else self._raw[0]),
            value=f.tenant if f else None,
        )
        start = w.DatePicker(description="Desde", value=f.date_from if f else today - timedelta(days=30))
        end = w.DatePicker(description="Hasta", value=f.date_to if f else today - timedelta(days=1))
        channel = w.Dropdown(
            description="Canal",
            options=[("Todos", "all"), ("WhatsApp", "cloudapi"), ("Webchat", "webchat")],
            value=f.channel if f else "all",
        )
        preset = w.ToggleButtons(options=list(PRESETS), value=None, description="Rango")
        apply = w.Button(description="Aplicar", button_style="primary", icon="refresh")
        out = w.Output()

        def on_preset(change: dict) -> None:
            if change.get("new") and end.value:
                start.value = end.value - timedelta(days=PRESETS[change["new"]] - 1)

        def on_apply(_button: object) -> None:
            out.clear_output()
            with out, d.guard("No se pudieron aplicar los filtros"):
                new = resolve_filters(
                    tenant.value, start.value, end.value, query_string="", channel=channel.value
                )
                if in_voila():
                    self._reload(new)
                else:
                    self.filters = new
                    display(HTML(self.header_html()))
                    with d.guard():
                        self.report(new)

        preset.observe(on_preset, names="value")
        apply.on_click(on_apply)
        display(w.VBox([w.HBox([tenant, start, end, channel]), w.HBox([preset, apply]), out]))

    @staticmethod
    def _reload(filters: Filters) -> None:
        """Voila: navigate to the same notebook with the new filters in the query string."""
        from IPython.display import HTML, display

        qs = filters.query_string()
        display(
            HTML(
                f'<a class="bi-apply-link" href="{html.escape(qs)}" target="_self">Abrir la vista con estos filtros</a>'
                f"<script>window.location.search = {json.dumps(qs)};</script>"
            )
        )

    # -- report ----------------------------------------------------------------------------------
    def render(self) -> None:
        """The report for the resolved filters; any failure becomes an HTML error box."""
        with d.guard():
            if self.error is not None:
                raise self.error
            assert self.filters is not None
            self.report(self.filters)
