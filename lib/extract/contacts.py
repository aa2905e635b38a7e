"""ContactsExtractor → raw.raw_contacts_api: `/v1/chat/contacts` by the `lastId` cursor."""

from __future__ import annotations

from collections.abc import Iterator

from lib.api import ApiResponse, IndigitallClient, endpoints
from lib.extract.base import Extractor
from lib.extract.model import EntitySpec, Task
from lib.extract.options import ExtractOptions


def fetch_contacts(client: IndigitallClient, task: Task, options: ExtractOptions) -> Iterator[ApiResponse]:
    """Pages after `task.start_cursor` (None = from the first contact)."""
    yield from client.contacts(task.app_id, last_id=task.start_cursor)


class ContactsExtractor(Extractor):
    """Contacts (required); incremental runs resume after the stored lastId, full runs rescan.

    An incremental run also rescans once `contacts_sweep_hours` have passed since the last read from
    the first id, so changes to known contacts (profile name, agent) reach raw too.
    """

    name = "contacts"

    def specs(self, options: ExtractOptions) -> list[EntitySpec]:
        return [EntitySpec("contacts", "raw_contacts_api", endpoints.CONTACTS, fetch_contacts,
                           required=True, kind="cursor", weight=3)]  # fmt: skip
