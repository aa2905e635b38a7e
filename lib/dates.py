"""The one parser of calendar days given as a `date`, a `datetime` or an ISO `YYYY-MM-DD…` string."""

from __future__ import annotations

from datetime import date, datetime


def to_date(value: object) -> date | None:
    """None/'' → None; a datetime → its date; a date → itself; a string → the ISO date of its first
    10 characters (ValueError when it is not one; callers wrap it in their own message)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def to_date_or_none(value: object) -> date | None:
    """`to_date`, with None for what is not a date (for cursors and filters read back from storage)."""
    try:
        return to_date(value)
    except ValueError:
        return None
