"""The weekly report (tenant, ISO week): KPIs from lib.analysis.kpis, a static HTML document, its PDF
(headless Chromium) and the e-mail to the tenant's recipients (`report_recipients` in tenants.yml,
SMTP_* settings). Executed by the runner as the `report_weekly` step (mode `report`, and after the
first scheduled run of each Monday), archived with the run, listed on the "Informes" page."""

from lib.report.weekly import Report, build, iso_week, run_report, week_window

__all__ = ["Report", "build", "iso_week", "run_report", "week_window"]
