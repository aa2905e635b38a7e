"""Post-transform: agents from chat_conversations and messages, for the agents queued as touched
(all on a full refresh): conversations_handled = sessions in chat_conversations,
avg_handle_time_seconds = rounded mean of their handle times, total_messages = messages carrying the
agent id, agent_email = the email of the agent's latest session. An agent found in neither table has
no row."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="agents",
    sql_file=Path(__file__).with_name("agents.sql"),
    sources=(),
    kind="post",
    work_mem="256MB",
    doc=__doc__ or "",
)
