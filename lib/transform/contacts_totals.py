"""Post-transform: contacts.total_messages, total_conversations (distinct conversation ids),
first_contact, last_contact (tenant-local dates) from messages, for the contacts queued as touched
(all contacts on a full refresh)."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="contacts_totals",
    sql_file=Path(__file__).with_name("contacts_totals.sql"),
    sources=(),
    kind="post",
    work_mem="256MB",
    doc=__doc__ or "",
)
