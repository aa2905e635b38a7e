"""Deterministic data of a simulated Indigitall tenant, for any date range.

Everything derives from (seed, tenant_id, application_id) and, for day data, the day itself, so a
day holds the same rows whatever window is asked for. Conversations are generated per *local* day
(the tenant's time zone drives volumes and peak hours) and served per *UTC* day (the API filters
`messageDate` / `queuedAt` by UTC date).

One module a domain: `contacts`, `chat`, `push`, `campaigns` (`_common`: seeds, helpers, shared
dimensions); `Dataset` joins them. Import from `lib.simulator.data` (or `lib.simulator`).
"""

from __future__ import annotations

from lib.simulator.data._common import (
    _LRU,
    HEATMAP_HOURS,
    PLATFORMS,
    WEEKDAYS,
    Agent,
    Contact,
    DateLike,
    as_date,
    csv_ts,
    json_ts,
)
from lib.simulator.data.campaigns import CampaignsData
from lib.simulator.data.chat import ChatData
from lib.simulator.data.contacts import ContactsData
from lib.simulator.data.push import PushData


class Dataset(ChatData, PushData):
    """The deterministic data of one tenant's application (see the package docstring)."""


__all__ = [
    "Agent",
    "CampaignsData",
    "ChatData",
    "Contact",
    "ContactsData",
    "Dataset",
    "DateLike",
    "HEATMAP_HOURS",
    "PLATFORMS",
    "PushData",
    "WEEKDAYS",
    "_LRU",
    "as_date",
    "csv_ts",
    "json_ts",
]
