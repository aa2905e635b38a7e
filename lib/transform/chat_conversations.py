"""public.chat_conversations <- `/v1/chat/agent/conversations` data[] in raw_chat_stats.

session_id = agentSessionId; wait = assigned - queued, handle = closed - assigned (seconds); NULL when
an end is missing; a negative interval is NULL and counted as an anomaly (metrics + warning)."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="chat_conversations",
    sql_file=Path(__file__).with_name("chat_conversations.sql"),
    sources=("raw_chat_stats",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
