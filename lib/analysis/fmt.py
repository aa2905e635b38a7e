"""Spanish (es-CO) formats shared by the dashboards, the Voila views, the exports and the report.

Numbers: thousands with '.', decimals with ',' ("4.051", "58,0 %"). Dates: "15 de marzo de 2026",
"15/03/2026". Rates are ratios on a 0..1 scale everywhere (lib.analysis.kpis); only the text says %.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
WEEKDAYS_ES = ("Lunes", "Martes", "Miércoles", "Jueves", "Viernes", "Sábado", "Domingo")
MISSING = "—"


def missing(value: object) -> bool:
    """None, NaN or not a number."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _swap(text: str) -> str:
    """'1,234.5' (Python) → '1.234,5' (es-CO)."""
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fmt_int(value: object) -> str:
    """'4.051'; '—' when missing."""
    return MISSING if missing(value) else _swap(f"{round(float(value)):,}")  # type: ignore[arg-type]


def fmt_num(value: object, decimals: int = 2) -> str:
    """'1.234,57'; '—' when missing."""
    return MISSING if missing(value) else _swap(f"{float(value):,.{decimals}f}")  # type: ignore[arg-type]


def fmt_pct(value: object, decimals: int = 1) -> str:
    """A ratio 0..1 as '58,0 %'; '—' when missing (zero denominator)."""
    return MISSING if missing(value) else f"{_swap(f'{float(value) * 100:,.{decimals}f}')} %"  # type: ignore[arg-type]


def fmt_seconds(value: object) -> str:
    """Durations: '42 s', '3,5 min', '1,2 h'; '—' when missing."""
    if missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if abs(v) < 90:
        return f"{v:.0f} s"
    if abs(v) < 5400:
        return f"{v / 60:.1f} min".replace(".", ",")
    return f"{v / 3600:.1f} h".replace(".", ",")


def fmt_date(d: date | None, *, long: bool = False) -> str:
    """'15/03/2026', or '15 de marzo de 2026' with long=True."""
    if d is None:
        return MISSING
    if long:
        return f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}"
    return f"{d:%d/%m/%Y}"


def local_time(ts: datetime | None, tz: str) -> datetime | None:
    """A timestamp in the tenant's zone (naive timestamps are taken as UTC)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=ZoneInfo("UTC"))
    return ts.astimezone(ZoneInfo(tz))


def fmt_datetime(ts: datetime | None, tz: str, *, long: bool = False) -> str:
    """'15/03/2026 23:58' (or '15 de marzo de 2026, 23:58') in the tenant's zone."""
    local = local_time(ts, tz)
    if local is None:
        return MISSING
    return f"{fmt_date(local.date(), long=long)}{',' if long else ''} {local:%H:%M}"


def local_iso(ts: datetime | None, tz: str) -> str | None:
    """'2026-03-15 23:58:04' in the tenant's zone (sortable; what tables and exports carry)."""
    local = local_time(ts, tz)
    return None if local is None else f"{local:%Y-%m-%d %H:%M:%S}"


def agent_label(agent_id: object, email: object = None) -> str:
    """How an agent is shown: the e-mail the data carries (a person), else the id."""
    if email and str(email).strip():
        return str(email).strip()
    return MISSING if agent_id is None else str(agent_id)
