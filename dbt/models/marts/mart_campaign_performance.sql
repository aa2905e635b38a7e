-- Campaigns with funnel counts, rates (percent) and the league: campaigns with ≥ league_min_sent
-- sent, ranked by CTR (clicks ÷ sent) within the tenant.

with campaigns as (
    select * from {{ ref('stg_indigitall__campaigns') }}
    where campaign_id is not null
),

rated as (
    select
        tenant_id,
        campaign_id,
        campaign_name,
        channel,
        status,
        application_id,
        start_date,
        end_date,
        sent,
        delivered,
        opened,
        clicks,
        {{ pct('delivered', 'sent') }} as delivery_rate,
        {{ pct('clicks', 'sent') }} as ctr,
        {{ pct('clicks', 'delivered') }} as ctr_delivered,
        {{ pct('opened', 'delivered') }} as open_rate,
        sent >= {{ var('league_min_sent') }} as in_league,
        clicks::numeric / nullif(sent, 0) as ctr_exact
    from campaigns
)

select
    tenant_id,
    campaign_id,
    campaign_name,
    channel,
    status,
    application_id,
    start_date,
    end_date,
    sent,
    delivered,
    opened,
    clicks,
    delivery_rate,
    ctr,
    ctr_delivered,
    open_rate,
    in_league,
    case
        when in_league then rank() over (
            partition by tenant_id, in_league
            order by ctr_exact desc
        )
    end as league_rank
from rated
