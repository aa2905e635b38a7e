"""Filter state: tenant, date window (7/30/90 days or custom), channel, "incluir hoy" — parsed from
and written to the URL query string, with the tenant always decided server-side from the signed-in
user. Presets end at the tenant's last complete local day (lib.analysis.periods) unless `hoy=1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from dash_app.security import SessionUser, allowed_tenants, resolve_tenant
from lib.dates import to_date_or_none

PRESETS = ("7", "30", "90")
DEFAULT_PRESET = "30"
CHANNELS = ("all", "cloudapi", "webchat")
CHANNEL_LABELS = {"all": "Todos", "cloudapi": "WhatsApp", "webchat": "Webchat"}
MAX_SPAN_DAYS = 731


def tenant_timezone(tenant_id: str) -> str:
    """The tenant's IANA time zone (tenants.yml / TENANT_TIMEZONE)."""
    from lib.config import ConfigError, get_settings, get_tenant

    try:
        return get_tenant(tenant_id).timezone
    except ConfigError:
        return get_settings().tenant_timezone


def tenant_today(tenant_id: str) -> date:
    """Today's date in the tenant's time zone."""
    from lib.analysis.periods import local_today

    return local_today(tenant_timezone(tenant_id))


def last_complete_day(tenant_id: str, today: date) -> date:
    """The tenant's last complete local day (data_coverage, else yesterday capped at the data)."""
    from dash_app.queries.fresh import freshness

    try:
        fr = freshness(tenant_id)
    except Exception:  # database down: the page shows its error; presets still resolve
        return today - timedelta(days=1)
    return min(fr.last_complete_day, today - timedelta(days=1))


def _parse_date(value: object) -> date | None:
    return to_date_or_none(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Filters:
    """A resolved, trusted filter state (inclusive dates, tenant-local)."""

    tenant: str
    preset: str
    start: date
    end: date
    channel: str
    include_today: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The previous period of equal length, just before this one."""
        end = self.start - timedelta(days=1)
        return Filters(self.tenant, "custom", end - timedelta(days=self.days - 1), end, self.channel)

    @property
    def kpi_window(self):  # lib.analysis.kpis.Window
        from lib.analysis.kpis import Window

        return Window(self.start, self.end, self.channel)

    def to_store(self) -> dict[str, str]:
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        return d

    def to_query(self) -> str:
        """`?tenant=…&range=…[&from=…&to=…]&channel=…` — a link that reproduces the view."""
        q: dict[str, str] = {"tenant": self.tenant, "range": self.preset}
        if self.preset == "custom":
            q["from"], q["to"] = self.start.isoformat(), self.end.isoformat()
        q["channel"] = self.channel
        if self.include_today and self.preset != "custom":
            q["hoy"] = "1"
        return "?" + urlencode(q)

    @property
    def label(self) -> str:
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"


def _truthy(value: object) -> bool:
    return str(value).lower() in ("1", "true", "si", "sí", "yes", "on") if value is not None else False


def resolve_filters(
    query: Mapping[str, object],
    user: SessionUser,
    today: date | None = None,
    last_complete: date | None = None,
) -> Filters:
    """Filters from untrusted input (URL query or a callback's store): tenant enforced for the user,
    bad values replaced by defaults. Presets end at the last complete local day, or today with
    `hoy=1` ("incluir hoy")."""
    tenant = resolve_tenant(user, query.get("tenant") if isinstance(query.get("tenant"), str) else None)
    preset = str(query.get("range") or query.get("preset") or DEFAULT_PRESET)
    channel = str(query.get("channel") or "all")
    if channel not in CHANNELS:
        channel = "all"
    include_today = _truthy(query.get("hoy") if "hoy" in query else query.get("include_today"))
    today = today or tenant_today(tenant)
    if preset == "custom":
        start = _parse_date(query.get("from") or query.get("start"))
        end = _parse_date(query.get("to") or query.get("end"))
        if start and end and start <= end and (end - start).days < MAX_SPAN_DAYS:
            return Filters(tenant, "custom", start, end, channel)
        preset = DEFAULT_PRESET
    if preset not in PRESETS:
        preset = DEFAULT_PRESET
    end = today if include_today else (last_complete or last_complete_day(tenant, today))
    return Filters(tenant, preset, end - timedelta(days=int(preset) - 1), end, channel, include_today)


def filters_from_store(data: Mapping[str, object] | None, user: SessionUser) -> Filters:
    """Re-validate a client-sent filter store (never trust its tenant)."""
    data = dict(data or {})
    if data.get("preset") and "range" not in data:
        data["range"] = data["preset"]
    if data.get("range") != "custom" and data.get("start") and data.get("end"):
        # a preset window keeps its dates as computed when the page was built
        start, end = _parse_date(data.get("start")), _parse_date(data.get("end"))
        if start and end and start <= end and (end - start).days < MAX_SPAN_DAYS:
            base = resolve_filters({**data, "range": "custom", "from": str(start), "to": str(end)}, user)
            preset = str(data.get("range"))
            return Filters(
                base.tenant, preset if preset in PRESETS else "custom", base.start, base.end, base.channel,
                bool(data.get("include_today")),
            )  # fmt: skip
    return resolve_filters(data, user)


__all__ = [
    "CHANNELS",
    "CHANNEL_LABELS",
    "Filters",
    "PRESETS",
    "allowed_tenants",
    "filters_from_store",
    "resolve_filters",
    "tenant_today",
]
