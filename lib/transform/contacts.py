"""public.contacts <- `/v1/chat/contacts` items (raw_contacts_api, and raw_chat_stats when the chat
extractor stored them there). Key contactId; profileName, channel, createdAt, updatedAt. The totals
columns belong to the `contacts_totals` post-transform."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="contacts",
    sql_file=Path(__file__).with_name("contacts.sql"),
    sources=("raw_contacts_api", "raw_chat_stats"),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
