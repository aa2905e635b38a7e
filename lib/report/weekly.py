"""The weekly report: the week's KPIs against the previous week, top intents, agents and campaigns.

`run_report(tenant, week, run_dir, result_path)` is the step's one call (notebooks/reports): it writes
`informe.html` (static: no script, so it reads the same in a browser, a mail client and a PDF) and
`informe.pdf` into `run_dir` (the runner archives them with the run), sends them when SMTP is
configured, and writes the StepResult for the runner.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from lib.analysis import kpis as K
from lib.analysis.fmt import agent_label, fmt_date, fmt_int, fmt_pct
from lib.analysis.periods import Freshness, freshness
from lib.steps import StepResult

STEP_ID = "report_weekly"
HEADLINE = (
    "messages", "unique_contacts", "conversations", "wait_p50", "fallback_rate", "containment",
    "escalation", "service_level", "abandonment", "first_response_p50", "handle_p50", "transfers",
    "repeat_contact", "outbound_delivery", "push_sent", "push_delivery", "push_ctr", "push_open",
)  # fmt: skip


def iso_week(d: date) -> str:
    """'2026-W10'."""
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def week_window(week: str | date | None, today: date) -> tuple[date, date]:
    """Monday..Sunday of an ISO week ('2026-W10'), of the week holding a date, or (None) of the last
    complete week before `today`."""
    if week is None or week == "":
        monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
    elif isinstance(week, date):
        monday = week - timedelta(days=week.weekday())
    elif "W" in str(week).upper():
        y, w = str(week).upper().split("-W")
        monday = date.fromisocalendar(int(y), int(w), 1)
    else:
        d = date.fromisoformat(str(week)[:10])
        monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


@dataclass
class Report:
    """Everything the document shows (values on the KPI source's scales)."""

    tenant: str
    tenant_name: str
    tz: str
    start: date
    end: date
    current: dict[str, float | None]
    previous: dict[str, float | None]
    fresh: Freshness | None = None
    intents: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def week(self) -> str:
        return iso_week(self.start)

    @property
    def title(self) -> str:
        return f"Informe semanal {self.week} · {self.tenant_name}"


def build(tenant: str, week: str | date | None = None, fetch: K.Fetch | None = None) -> Report:
    """The report of one tenant and ISO week (default: the last complete week, tenant-local)."""
    from lib.config import ConfigError, get_tenant

    try:
        cfg = get_tenant(tenant)
        name, tz = cfg.name, cfg.timezone
    except ConfigError:
        from lib.config import get_settings

        name, tz = tenant, get_settings().tenant_timezone
    from lib.analysis.periods import local_today

    fetch = fetch or K.analysis_fetch(tenant)
    start, end = week_window(week, local_today(tz))
    w = K.Window(start, end)
    intents = fetch("kpi_intents", {**w.params(), "row_limit": 10})
    agents = fetch("kpi_agents", w.params())
    campaigns = K.league(fetch("kpi_campaigns", {"start": start, "end": end}))[:10]
    return Report(
        tenant=tenant, tenant_name=name, tz=tz, start=start, end=end,
        current=K.window_kpis(fetch, w), previous=K.window_kpis(fetch, w.previous()),
        fresh=freshness(fetch, tz), intents=intents, agents=agents[:10], campaigns=campaigns,
    )  # fmt: skip


# -- the document -------------------------------------------------------------------------------------
CSS = """
body{font-family:Inter,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1A1A2E;background:#fff;margin:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 8px;color:#1E88E5}
.sub{color:#6B6E88;font-size:13px;margin-bottom:14px}
table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:8px;page-break-inside:avoid}
th{background:#F5F7FA;text-align:left;padding:6px 8px;border-bottom:1px solid #E4E8EF}
td{padding:5px 8px;border-bottom:1px solid #EEF0F4} td.n{text-align:right;white-space:nowrap}
.good{color:#4E8A26;font-weight:600} .bad{color:#EF4444;font-weight:600} .flat{color:#A0A3BD}
.bar{display:inline-block;height:9px;background:#1E88E5;border-radius:3px;vertical-align:middle}
@page{size:A4;margin:14mm}
"""


def _delta(key: str, cur: float | None, prev: float | None) -> tuple[str, str]:
    d = K.KPIS[key]
    if cur is None or prev is None or (d.kind != "rate" and prev == 0):
        return "sin comparación", "flat"
    change = cur - prev if d.kind == "rate" else (cur - prev) / abs(prev)
    if abs(change) * 100 < 0.05:
        return "■ sin cambio", "flat"
    arrow = "▲" if change > 0 else "▼"
    text = (
        f"{arrow} {fmt_pct(abs(change))}".replace(" %", " pp")
        if d.kind == "rate"
        else f"{arrow} {fmt_pct(abs(change))}"
    )
    good = None if d.up_is_good is None else (change > 0) == d.up_is_good
    return text, "flat" if good is None else ("good" if good else "bad")


def kpi_rows(report: Report) -> list[dict[str, str]]:
    """The KPI table as text (what the HTML, the PDF and the e-mail show)."""
    rows = []
    for key in HEADLINE:
        cur, prev = report.current.get(key), report.previous.get(key)
        delta, cls = _delta(key, cur, prev)
        rows.append(
            {"key": key, "label": K.KPIS[key].label, "value": K.format_value(key, cur),
             "previous": K.format_value(key, prev), "delta": delta, "class": cls}
        )  # fmt: skip
    return rows


def render_html(report: Report) -> str:
    """The report as one static HTML document (es-CO)."""
    e = html.escape
    kpi = "".join(
        f'<tr data-kpi="{r["key"]}"><td>{e(r["label"])}</td><td class="n kpi-value">{e(r["value"])}</td>'
        f'<td class="n">{e(r["previous"])}</td><td class="n {r["class"]}">{e(r["delta"])}</td></tr>'
        for r in kpi_rows(report)
    )
    top = max((int(K.number(r.get("occurrences")) or 0) for r in report.intents), default=0) or 1
    intents = "".join(
        f"<tr><td>{e(str(r['intent']))}</td><td class='n'>{fmt_int(r.get('occurrences'))}</td>"
        f"<td><span class='bar' style='width:{int(120 * (K.number(r.get('occurrences')) or 0) / top)}px'></span></td>"
        f"<td class='n'>{fmt_pct(K.ratio(r.get('escalated'), r.get('occurrences')))}</td></tr>"
        for r in report.intents
    )
    agents = "".join(
        f"<tr><td>{e(agent_label(r.get('agent_id'), r.get('agent_email')))}</td>"
        f"<td class='n'>{fmt_int(r.get('sessions'))}</td><td class='n'>{fmt_int(r.get('messages'))}</td>"
        f"<td class='n'>{K.format_value('wait_p50', r.get('median_wait_s'))}</td>"
        f"<td class='n'>{K.format_value('handle_p50', r.get('median_handle_s'))}</td></tr>"
        for r in report.agents
    )
    camps = "".join(
        f"<tr><td class='n'>{r['rank']}</td><td>{e(str(r.get('campaign_name') or r.get('campaign_id')))}</td>"
        f"<td class='n'>{fmt_int(r.get('sent'))}</td><td class='n'>{fmt_pct(r.get('ctr'))}</td></tr>"
        for r in report.campaigns
    )
    fresh = report.fresh.label() if report.fresh else ""
    empty = "<tr><td colspan='5' class='flat'>Sin datos en la semana</td></tr>"
    return f"""<!doctype html>
<html lang="es-CO"><head><meta charset="utf-8"><title>{e(report.title)}</title><style>{CSS}</style></head>
<body><h1>{e(report.title)}</h1>
<div class="sub">Semana del {fmt_date(report.start, long=True)} al {fmt_date(report.end, long=True)} ·
comparada con la semana anterior · {e(fresh)}</div>
<h2>Indicadores</h2>
<table class="kpis"><tr><th>Indicador</th><th>Semana</th><th>Semana anterior</th><th>Cambio</th></tr>{kpi}</table>
<h2>Motivos de contacto (primer intent con sentido)</h2>
<table><tr><th>Intent</th><th>Conversaciones</th><th></th><th>Escalan</th></tr>{intents or empty}</table>
<h2>Agentes</h2>
<table><tr><th>Agente</th><th>Sesiones</th><th>Mensajes</th><th>Espera mediana</th><th>Atención mediana</th></tr>
{agents or empty}</table>
<h2>Liga de campañas (≥ {K.LEAGUE_MIN_SENT} enviados)</h2>
<table><tr><th>#</th><th>Campaña</th><th>Enviados</th><th>CTR (÷ enviados)</th></tr>{camps or empty}</table>
</body></html>"""


def chromium() -> str | None:
    """The headless Chromium binary, if installed."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(html_path: Path, pdf_path: Path, timeout_s: int = 90) -> bool:
    """Print the HTML to PDF with headless Chromium (A4, no header/footer); False when unavailable."""
    import subprocess
    import tempfile

    from lib.childenv import child_env

    binary = chromium()
    if binary is None:
        return False
    with tempfile.TemporaryDirectory(prefix="bi-pdf-") as profile:
        argv = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri(),
        ]  # fmt: skip
        subprocess.run(argv, check=False, capture_output=True, timeout=timeout_s, env=child_env("browser"))
    return pdf_path.exists() and pdf_path.stat().st_size > 0


def run_report(
    tenant: str,
    week: str | None = None,
    *,
    run_id: str | None = None,
    run_dir: str | None = None,
    result_path: str | None = None,
) -> StepResult:
    """The step: build, write informe.html / informe.pdf into run_dir, e-mail them, write the result."""
    from lib.pipeline.nbstep import write_result
    from lib.report.mail import send_report

    started = time.perf_counter()
    result = StepResult(STEP_ID, tenant)
    report = build(tenant, week)
    out = Path(run_dir) if run_dir else Path.cwd() / f"informe-{tenant}-{report.week}"
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out / "informe.html", out / "informe.pdf"
    html_path.write_text(render_html(report), encoding="utf-8")
    has_pdf = render_pdf(html_path, pdf_path)
    if not has_pdf:
        result.warnings.append("PDF no generado: no hay Chromium en esta máquina")
    sent = send_report(report, html_path, pdf_path if has_pdf else None)
    result.rows_out = 1
    result.metrics.update(
        week=report.week, date_from=report.start.isoformat(), date_to=report.end.isoformat(),
        html="informe.html", pdf="informe.pdf" if has_pdf else None, emailed_to=sent.recipients,
        email=sent.status,
    )  # fmt: skip
    if sent.error:
        result.warnings.append(sent.error)
    result.duration_s = time.perf_counter() - started
    write_result(result, result_path)
    return result
