"""public.daily_stats, push part (data model step 2) <- dateStats in raw_push_stats.

For every date in new dateStats rows: `push_enviados` = Σ numDevicesSent over applications and
platforms (latest loaded_at per application x date x platform, read with `ops.raw_push_date_stats`,
the same reading `toques_daily` uses) and `total_messages` = chat_messages (so far) + push_enviados.
The chat part, unique contacts, conversations and fallbacks come from the `daily_stats_totals`
post-transform, which also re-derives push_enviados from toques_daily (same value). statsDate is the
API's own day; chat dates are tenant-local."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="daily_stats",
    sql_file=Path(__file__).with_name("daily_stats.sql"),
    sources=("raw_push_stats",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
