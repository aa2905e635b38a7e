-- Push stats as one row per tenant x date x platform x application (toques_daily's `canal` is the
-- platform group; platform names normalised to android / ios / web).

with toques as (
    select * from {{ ref('stg_indigitall__toques_daily') }}
),

normalised as (
    select
        tenant_id,
        stats_date as date,
        case
            when platform in ('webpush', 'safari', 'chrome', 'firefox') then 'web'
            else platform
        end as platform,
        coalesce(application_id, '') as application_id,
        sent,
        delivered,
        opened,
        clicks
    from toques
)

select
    tenant_id,
    date,
    platform,
    application_id,
    sum(sent)::bigint as sent,
    sum(delivered)::bigint as delivered,
    sum(opened)::bigint as opened,
    sum(clicks)::bigint as clicks
from normalised
group by 1, 2, 3, 4
