"""What every page callback does first: the signed-in user and trusted filters from the store."""

from __future__ import annotations

from collections.abc import Mapping

from dash_app.filters import Filters, filters_from_store
from dash_app.security import require_user


def trusted_filters(store: Mapping[str, object] | None) -> Filters:
    """Filters from the client's store, re-validated; the tenant comes from the session's rights."""
    return filters_from_store(store, require_user())


def comparable_previous(f: Filters) -> Filters | None:
    """The previous period of equal length, or None when the tenant's chat data does not cover all of
    it (a period that is only partly loaded would make every delta meaningless)."""
    from dash_app.queries import chat

    p = f.previous()
    first = chat.data_bounds(f.tenant).get("first_date")
    return p if first is not None and first <= p.start else None
