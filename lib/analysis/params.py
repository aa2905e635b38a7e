"""Notebook parameters → validated filters (tenant, date window).

A notebook's `parameters` cell sets TENANT / DATE_FROM / DATE_TO / DAYS (papermill can override them).
Under Voila the page's query string wins (`?tenant=demo&date_from=2025-01-01&date_to=2025-01-31`),
so a link reproduces a view, like the Dash app's URL state.

The tenant follows the signed-in user: Voila fixes the kernel's identity before any notebook cell
runs (`set_identity`, from `lib.voila_auth.prelaunch_hook`); a viewer then always gets its own
tenant whatever TENANT, the URL or a widget asks for, and `?tenant=` is honoured only for an admin.
A Voila kernel without an identity refuses to resolve any tenant. Outside Voila (papermill, Lab,
which only admins reach) the parameters decide, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from lib import clock
from lib.analysis.display import AnalysisError
from lib.dates import to_date

MAX_DAYS = 400


@dataclass(frozen=True)
class Identity:
    """Who this kernel serves (set once by Voila from the verified dashboards session)."""

    username: str
    role: str
    tenant: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_identity: Identity | None = None


def set_identity(username: str, role: str, tenant: str | None) -> None:
    """Fix the kernel's identity; once only (Voila's first cell calls it)."""
    global _identity
    if _identity is not None:
        raise AnalysisError("la identidad de esta sesión ya está fijada")
    if role not in ("admin", "viewer") or (role == "viewer" and not tenant):
        raise AnalysisError("identidad no válida")
    _identity = Identity(username, role, tenant if role == "viewer" else None)


def current_identity() -> Identity | None:
    """The identity Voila set for this kernel (None outside Voila)."""
    return _identity


def in_voila() -> bool:
    """True inside a Voila kernel (Voila sets SERVER_SOFTWARE=voila/<version>)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/")


def allowed_tenants(configured: list[str]) -> list[str]:
    """Of the configured tenant ids, those this kernel's user may pick."""
    who = current_identity()
    if who is None:
        return [] if in_voila() else configured
    return configured if who.is_admin else [who.tenant or ""]


@dataclass(frozen=True)
class Filters:
    """The filters every analysis view takes."""

    tenant: str
    date_from: date
    date_to: date
    timezone: str = "America/Bogota"
    channel: str = "all"

    @property
    def days(self) -> int:
        """Length of the window in days (both ends inclusive)."""
        return (self.date_to - self.date_from).days + 1

    def sql_params(self) -> dict[str, object]:
        """Bind parameters shared by every query."""
        return {"date_from": self.date_from, "date_to": self.date_to, "channel": self.channel}

    @property
    def window(self):  # lib.analysis.kpis.Window
        """The KPI window (same tenant, dates and channel as a Dash page)."""
        from lib.analysis.kpis import Window

        return Window(self.date_from, self.date_to, self.channel)

    def query_string(self) -> str:
        """`?tenant=..&date_from=..&date_to=..` for a Voila link."""
        return "?" + urlencode(
            {
                "tenant": self.tenant,
                "date_from": self.date_from.isoformat(),
                "date_to": self.date_to.isoformat(),
                "channel": self.channel,
            }
        )

    def label(self) -> str:
        """Human summary, e.g. 'demo · 01/01/2025 – 31/01/2025 (31 días) · canal: todos'."""
        from lib.analysis.fmt import fmt_date

        canal = {"all": "todos", "cloudapi": "WhatsApp", "webchat": "Webchat"}.get(self.channel, self.channel)
        return (
            f"{self.tenant} · {fmt_date(self.date_from)} – {fmt_date(self.date_to)} ({self.days} días) · "
            f"canal: {canal} · {self.date_from.isoformat()} → {self.date_to.isoformat()}"
        )


def parse_date(value: date | datetime | str | None, name: str) -> date | None:
    """`YYYY-MM-DD` (or a date) → date; None/'' → None; anything else → AnalysisError naming the field."""
    try:
        return to_date(value)
    except ValueError as exc:
        raise AnalysisError(f"{name} no es una fecha válida ({value!r}); use AAAA-MM-DD") from exc


def query_overrides(query_string: str | None = None) -> dict[str, str]:
    """Filters from Voila's QUERY_STRING (tenant, date_from, date_to, days)."""
    qs = os.environ.get("QUERY_STRING", "") if query_string is None else query_string
    parsed = parse_qs(qs.lstrip("?"), keep_blank_values=False)
    keys = {"tenant", "date_from", "date_to", "days", "channel"}
    return {k: v[-1] for k, v in parsed.items() if k in keys and v}


def resolve_filters(
    tenant: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    days: int | str | None = 30,
    *,
    query_string: str | None = None,
    latest: date | None = None,
    channel: str | None = None,
) -> Filters:
    """Validate the parameters (query string first) and fill the defaults.

    Defaults: tenant = TENANT_ID (or the only configured tenant); date_to = `latest` (the last
    complete local day, lib.analysis.periods, when the caller knows it) else yesterday; date_from =
    date_to − (days − 1); channel = all.
    """
    q = query_overrides(query_string)
    tenant_id, tz = resolve_tenant(q.get("tenant") or tenant)
    date_from = q.get("date_from") or date_from
    date_to = q.get("date_to") or date_to
    days = q.get("days") or days
    try:
        n_days = int(days) if days not in (None, "") else 30
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"DAYS debe ser un número de días ({days!r})") from exc
    if n_days < 1 or n_days > MAX_DAYS:
        raise AnalysisError(f"DAYS debe estar entre 1 y {MAX_DAYS}")
    d_to = parse_date(date_to, "DATE_TO")
    d_from = parse_date(date_from, "DATE_FROM")
    if d_to is None:
        d_to = latest or (clock.today(tz) - timedelta(days=1))
        if d_from is not None and d_from > d_to:
            d_to = d_from + timedelta(days=n_days - 1)
    if d_from is None:
        d_from = d_to - timedelta(days=n_days - 1)
    if d_from > d_to:
        raise AnalysisError(
            f"la fecha inicial ({d_from.isoformat()}) es posterior a la final ({d_to.isoformat()})"
        )
    if (d_to - d_from).days + 1 > MAX_DAYS:
        raise AnalysisError(f"la ventana supera {MAX_DAYS} días")
    chan = q.get("channel") or channel or "all"
    if chan not in ("all", "cloudapi", "webchat"):
        raise AnalysisError(f"canal desconocido ({chan!r}); use all, cloudapi o webchat")
    return Filters(tenant=tenant_id, date_from=d_from, date_to=d_to, timezone=tz, channel=chan)


def resolve_tenant(tenant: str | None = None) -> tuple[str, str]:
    """(tenant id, time zone) for this kernel's user: a viewer's own tenant (whatever is asked);
    for an admin or outside Voila, the given id or TENANT_ID / the only configured tenant.

    A tenant outside tenants.yml is allowed (the database decides: RLS shows its rows or none); its
    time zone is TENANT_TIMEZONE.
    """
    from lib.config import ConfigError, get_settings, get_tenant

    who = current_identity()
    if who is None and in_voila():
        raise AnalysisError("inicie sesión en los tableros para ver esta vista")
    if who is not None and not who.is_admin:
        tenant = who.tenant
    tenant = (tenant or "").strip() or None
    try:
        cfg = get_tenant(tenant)
    except ConfigError:
        if not tenant:
            raise
        return tenant, get_settings().tenant_timezone
    if not cfg.id:
        raise AnalysisError("falta el inquilino (TENANT)")
    return cfg.id, cfg.timezone
