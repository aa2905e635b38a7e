"""Contacts of the simulated tenant: `/v1/chat/contacts`."""

from __future__ import annotations

import bisect
import random
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from lib.simulator import texts
from lib.simulator.data._common import (
    Contact,
    DatasetBase,
    json_ts,
)


class ContactsData(DatasetBase):
    """Contacts (chat picks among them by weight, SMS sends to them)."""

    @cached_property
    def contacts_list(self) -> list[Contact]:
        rng = self._r("contacts")
        n = max(50, round(1200 * self.scale))
        created0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) * 1000
        seen: set[str] = set()
        out: list[Contact] = []
        internal = rng.randint(20_000, 90_000)
        agent_ids = [a.agent_id for a in self.agents_list]
        created_at: list[int] = []
        for _ in range(n):
            internal += rng.randint(1, 7)
            cid = f"573{rng.randint(0, 10**9 - 1):09d}"
            while cid in seen:
                cid = f"573{rng.randint(0, 10**9 - 1):09d}"
            seen.add(cid)
            channel = "webchat" if rng.random() < 0.04 else "cloudapi"
            u = rng.random()
            if u < 0.03:
                name = None
            else:
                name = f"{rng.choice(texts.FIRST_NAMES)} {rng.choice(texts.LAST_NAMES)}"
                if u < 0.25:
                    name = rng.choice(texts.FIRST_NAMES)
                if rng.random() < 0.12:
                    name = f"{name} {rng.choice(texts.NAME_EMOJI)}"
            created = created0 + rng.randrange(300 * 86_400_000)
            updated = created + rng.randrange(200 * 86_400_000)
            created_at.append(created)
            out.append(
                Contact(
                    id=internal,
                    contact_id=cid,
                    profile_name=name,
                    channel=channel,
                    instance_id=self.channel_ids[channel],
                    created_ms=created,
                    updated_ms=updated,
                    chat_allowed=rng.random() < 0.93,
                    agent_id=rng.choice(agent_ids) if rng.random() < 0.3 else None,
                )
            )
        # Internal ids grow with creation: the n-th contact is the n-th created (its updatedAt keeps its
        # offset). Conversations only pick contacts created before they start (`_pick_contact`).
        created_at.sort()
        return [
            replace(c, created_ms=t, updated_ms=t + (c.updated_ms - c.created_ms))
            for c, t in zip(out, created_at, strict=True)
        ]

    @cached_property
    def _created_ms(self) -> list[int]:
        return [c.created_ms for c in self.contacts_list]

    @cached_property
    def _contact_cum(self) -> list[float]:
        rng = self._r("contact-weights")
        weights = [rng.paretovariate(1.6) for _ in self.contacts_list]
        cum, total = [], 0.0
        for w in weights:
            total += w
            cum.append(total)
        return cum

    def _pick_contact(self, rng: random.Random, at_ms: int) -> Contact | None:
        """A contact by weight among those created by `at_ms` (None before the first was created)."""
        cum = self._contact_cum
        k = bisect.bisect_right(self._created_ms, at_ms)
        u = rng.random()
        if k == 0:
            return None
        i = bisect.bisect_left(cum, u * cum[k - 1])
        return self.contacts_list[min(i, k - 1)]

    def contacts(self) -> list[dict[str, Any]]:
        """`/v1/chat/contacts` items, ordered by `id` ascending (fresh copies)."""
        return [dict(c) for c in self._contact_items]

    def contacts_page(self, limit: int, page: int = 0, last_id: int | None = None) -> list[dict[str, Any]]:
        """One page of contacts: ids > `last_id` (when given), then the 0-based `page` of `limit`."""
        items = self._contact_items
        start = 0 if last_id is None else bisect.bisect_right(self._contact_ids, last_id)
        start += page * limit
        return [dict(c) for c in items[start : start + limit]]

    @cached_property
    def _contact_ids(self) -> list[int]:
        return [c["id"] for c in self._contact_items]

    @cached_property
    def _contact_items(self) -> tuple[dict[str, Any], ...]:
        rng = self._r("contacts-last-input")
        return tuple(
            {
                "id": c.id,
                "contactId": c.contact_id,
                "externalCode": "",
                "externalId": None,
                "createdAt": json_ts(c.created_ms),
                "updatedAt": json_ts(c.updated_ms),
                "lastInputMessage": json_ts(c.updated_ms - rng.randrange(3_600_000)),
                "channel": c.channel,
                "language": None,
                "profileName": c.profile_name,
                "instanceId": c.instance_id,
                "chatAllowed": c.chat_allowed,
                "agentId": c.agent_id,
            }
            for c in self.contacts_list
        )
