"""Post-transform: daily_stats per tenant-local date, for the dates queued as touched (all on a
full refresh): chat_messages, unique_contacts, conversations (distinct conversation ids) and
fallback_count from messages; push_enviados = Σ toques_daily.enviados; total_messages = chat + push.
A date with neither messages nor push rows has no daily_stats row."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="daily_stats_totals",
    sql_file=Path(__file__).with_name("daily_stats_totals.sql"),
    sources=(),
    kind="post",
    work_mem="256MB",
    doc=__doc__ or "",
)
