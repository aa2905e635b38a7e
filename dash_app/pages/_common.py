"""What every page callback does first: the signed-in user and trusted filters from the store."""

from __future__ import annotations

from collections.abc import Mapping

from dash_app.filters import Filters, filters_from_store
from dash_app.security import require_user


def trusted_filters(store: Mapping[str, object] | None) -> Filters:
    """Filters from the client's store, re-validated; the tenant comes from the session's rights."""
    return filters_from_store(store, require_user())
