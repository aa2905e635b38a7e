"""public.toques_heatmap <- pushHeatmap `weekday-hour` in raw_push_stats.

ctr = rate x 100 (2 decimals); dia_semana lowercase English as the API gives it; dia_orden 1 = monday
... 7 = sunday; canal = 'push'. The table is the current heatmap: the latest response of each
application (older windows' cells are deleted), a cell's ctr the mean over the applications."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="toques_heatmap",
    sql_file=Path(__file__).with_name("toques_heatmap.sql"),
    sources=("raw_push_stats",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
