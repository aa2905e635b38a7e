"""public.messages <- history CSV pages (`/v1/chat/history/csv`, source_data->'rows') in raw_chat_stats.

direction by the data model table, is_bot/is_human/is_fallback, wait/handle seconds (NULL when a
timestamp is missing or the interval negative), date/hour/day_of_week in the tenant's time zone."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="messages",
    sql_file=Path(__file__).with_name("messages.sql"),
    sources=("raw_chat_stats",),
    kind="transform",
    work_mem="1GB",
    doc=__doc__ or "",
)
