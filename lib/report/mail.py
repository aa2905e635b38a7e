"""E-mail of the weekly report to the tenant's recipients, when SMTP is configured.

Settings (environment or `.env`): SMTP_HOST (unset: no e-mail), SMTP_PORT (587), SMTP_USER,
SMTP_PASSWORD (secret: never logged), SMTP_FROM (default SMTP_USER), SMTP_SECURITY
(`starttls` default, `ssl`, or `none` for a relay on a trusted network). Recipients: the tenant's
`report_recipients` list in tenants.yml (REPORT_RECIPIENTS, comma-separated, for single-tenant
installs).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from lib.config import dotenv_values, env_value

if TYPE_CHECKING:
    from lib.report.weekly import Report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    security: str = "starttls"


@dataclass
class Sent:
    status: str  # sent | not_configured | no_recipients | failed
    recipients: list[str] = field(default_factory=list)
    error: str | None = None


def smtp_settings(env: dict[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings, or None when SMTP_HOST is not set."""
    env = {**dotenv_values(), **os.environ} if env is None else env
    host = (env.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    security = (env.get("SMTP_SECURITY") or "starttls").strip().lower()
    if security not in ("starttls", "ssl", "none"):
        raise ValueError(f"SMTP_SECURITY must be starttls, ssl or none, got {security!r}")
    default_port = {"ssl": 465, "starttls": 587, "none": 25}[security]
    user = (env.get("SMTP_USER") or "").strip() or None
    return SmtpSettings(
        host=host, port=int(env.get("SMTP_PORT") or default_port), user=user,
        password=env.get("SMTP_PASSWORD") or None, sender=(env.get("SMTP_FROM") or user or f"bi@{host}"),
        security=security,
    )  # fmt: skip


def recipients(tenant: str) -> list[str]:
    """The tenant's `report_recipients` (tenants.yml), else REPORT_RECIPIENTS."""
    from lib.config import ConfigError, get_tenant

    raw: object = None
    try:
        raw = get_tenant(tenant).extra.get("report_recipients")
    except ConfigError:
        raw = None
    if raw is None:
        raw = env_value("REPORT_RECIPIENTS", "")
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])  # type: ignore[arg-type]
    return [str(a).strip() for a in items if str(a).strip() and "@" in str(a)]


def message(
    report: Report, html_path: Path, pdf_path: Path | None, sender: str, to: list[str]
) -> EmailMessage:
    """The e-mail: the report as the HTML body, the PDF (and the HTML) attached."""
    msg = EmailMessage()
    msg["Subject"] = report.title
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(
        f"{report.title}\nSemana del {report.start:%d/%m/%Y} al {report.end:%d/%m/%Y}.\n"
        "El informe va adjunto en PDF y en HTML."
    )
    body = html_path.read_text(encoding="utf-8")
    msg.add_alternative(body, subtype="html")
    stem = f"informe-{report.tenant}-{report.week}"
    if pdf_path is not None and pdf_path.exists():
        msg.add_attachment(
            pdf_path.read_bytes(), maintype="application", subtype="pdf", filename=f"{stem}.pdf"
        )
    msg.add_attachment(body.encode("utf-8"), maintype="text", subtype="html", filename=f"{stem}.html")
    return msg


def send_report(report: Report, html_path: Path, pdf_path: Path | None) -> Sent:
    """Send the report when SMTP is configured and the tenant has recipients; never raises."""
    settings = smtp_settings()
    if settings is None:
        return Sent("not_configured")
    to = recipients(report.tenant)
    if not to:
        return Sent("no_recipients")
    msg = message(report, html_path, pdf_path, settings.sender or "", to)
    try:
        if settings.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30,
                                                  context=ssl.create_default_context())  # fmt: skip
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=30)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if settings.password and settings.password in reason:
            reason = type(exc).__name__
        log.warning("weekly report e-mail failed for %s: %s", report.tenant, reason)
        return Sent("failed", to, f"no se pudo enviar el informe por correo ({reason})")
    log.info("weekly report %s of %s sent to %d recipient(s)", report.week, report.tenant, len(to))
    return Sent("sent", to)
