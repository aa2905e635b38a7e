"""How fresh a tenant's data are (lib.analysis.periods over the cached reader queries)."""

from __future__ import annotations

from dash_app.queries.chat import fetcher
from lib.analysis import periods


def freshness(tenant: str, *, push: bool = False) -> periods.Freshness:
    from dash_app.filters import tenant_timezone

    entities = periods.PUSH_ENTITIES if push else periods.CHAT_ENTITIES
    return periods.freshness(fetcher(tenant), tenant_timezone(tenant), entities)
