"""public.chat_channels <- `/v1/chat/channel` items in raw_chat_stats (whole item kept in `config`)."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="chat_channels",
    sql_file=Path(__file__).with_name("chat_channels.sql"),
    sources=("raw_chat_stats",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
