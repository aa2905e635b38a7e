"""public.campaigns <- `/v1/campaign` items in raw_campaigns_api (field names read defensively).

campana_id = id|campaignId, campana_nombre = name|title, canal = channel|type, tipo_campana = status,
fecha_inicio = tenant-local date of sendDate|createdAt, fecha_fin = of endDate, totals from
stats.sent|delivered|clicked|opened (with fallbacks), ctr = clicks / enviados in percent."""

from pathlib import Path

from lib.transform._core import Transform

TRANSFORM = Transform(
    name="campaigns",
    sql_file=Path(__file__).with_name("campaigns.sql"),
    sources=("raw_campaigns_api",),
    kind="transform",
    work_mem="64MB",
    doc=__doc__ or "",
)
