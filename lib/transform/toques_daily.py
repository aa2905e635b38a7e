"""public.toques_daily <- dateStats (`/v1/application/{id}/dateStats`) in raw_push_stats.

numDevicesSent -> enviados, Success -> entregados, Received -> abiertos, Clicked -> clicks; canal =
platformGroup; proyecto_cuenta = the application id. Rates in percent, 2 decimals: ctr = clicks /
enviados, tasa_entrega = entregados / enviados, open_rate = abiertos / entregados; NULL on a 0
denominator. Latest loaded_at wins per (date, canal, application)."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="toques_daily",
    sql_file=Path(__file__).with_name("toques_daily.sql"),
    sources=("raw_push_stats",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
