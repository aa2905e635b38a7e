-- Calendar per tenant, covering the tenant's data (messages, sessions, push). Keyed by
-- (tenant_id, date_day): under RLS a reader sees exactly one row per day of its own tenant.

with bounds as (
    select tenant_id, min(d) as first_day, max(d) as last_day
    from (
        select tenant_id, message_date as d from {{ ref('int_messages__sessionized') }}
        union all
        select tenant_id, date from {{ ref('int_agent_sessions') }}
        union all
        select tenant_id, date from {{ ref('int_push__platform_daily') }}
    ) as days
    where d is not null
    group by 1
),

spine as (
    select
        bounds.tenant_id,
        generate_series(bounds.first_day, bounds.last_day, interval '1 day')::date as date_day
    from bounds
)

select
    tenant_id,
    date_day,
    extract(year from date_day)::integer as year,
    extract(month from date_day)::integer as month,
    extract(week from date_day)::integer as iso_week,
    extract(isoyear from date_day)::integer as iso_year,
    extract(isodow from date_day)::integer as weekday_num,
    {{ weekday_name_es('extract(isodow from date_day)::integer') }} as weekday_name_es,
    extract(isodow from date_day) in (6, 7) as is_weekend
from spine
