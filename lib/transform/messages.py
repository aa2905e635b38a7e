"""public.messages <- history CSV pages (`/v1/chat/history/csv`) in raw_chat_stats, both raw formats:
v1 rows as objects (`source_data->'rows'`), v2 the page's text (`source_data->'text'`, COPYed into a
temp table first by `history_stage.stage_history`).

direction by the data model table, is_bot/is_human/is_fallback, wait/handle seconds (NULL when a
timestamp is missing or the interval negative), date/hour/day_of_week in the tenant's time zone."""

from pathlib import Path

from lib.transform._core import Transform
from lib.transform.history_stage import stage_history

TRANSFORM = Transform(
    name="messages",
    sql_file=Path(__file__).with_name("messages.sql"),
    sources=("raw_chat_stats",),
    kind="transform",
    work_mem="1GB",
    doc=__doc__ or "",
    prepare=stage_history,
)
