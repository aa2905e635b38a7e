-- Push per tenant x date x platform x application, with rates in percent (2 decimals, NULL on 0).
-- Over a window, recompute rates from Σ of the counts (never average these daily rates).

select
    tenant_id,
    date,
    platform,
    application_id,
    sent,
    delivered,
    opened,
    clicks,
    {{ pct('delivered', 'sent') }} as delivery_rate,
    {{ pct('clicks', 'sent') }} as ctr,
    {{ pct('clicks', 'delivered') }} as ctr_delivered,
    {{ pct('opened', 'delivered') }} as open_rate
from {{ ref('int_push__platform_daily') }}
