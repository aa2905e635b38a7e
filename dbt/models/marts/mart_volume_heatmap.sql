-- Messages per tenant x date x channel x ISO weekday x hour (tenant-local), for the heatmap.

select
    tenant_id,
    date,
    coalesce(channel, 'unknown') as channel,
    weekday_num,
    hour,
    count(*) filter (where direction = 'Inbound') as inbound_messages,
    count(*) as messages
from {{ ref('fct_messages') }}
where date is not null and hour is not null
group by 1, 2, 3, 4, 5
