-- Messages in tenant-local time, grouped into conversations (docs/contracts.md "dbt marts"):
-- a contact's conversation starts at its first message or after > conversation_gap_minutes without
-- messages from/to that contact, unless the message belongs to the same agent session as the previous
-- one. conversation_key = contact_id || ':' || message_id of the conversation's first message.

with messages as (
    select * from {{ ref('stg_indigitall__messages') }}
    where message_id is not null
),

tenants as (
    select tenant_id, timezone from {{ ref('stg_indigitall__tenants') }}
),

localized as (
    select
        messages.*,
        coalesce(messages.contact_id, '') as contact_key,
        messages.message_ts at time zone {{ tenant_tz('tenants.timezone') }} as message_local_ts
    from messages
    left join tenants on tenants.tenant_id = messages.tenant_id
),

with_previous as (
    select
        *,
        lag(message_id) over contact_timeline as previous_message_id,
        lag(message_ts) over contact_timeline as previous_ts,
        lag(agent_session_id) over contact_timeline as previous_agent_session_id
    from localized
    window contact_timeline as (
        partition by tenant_id, contact_key order by message_ts nulls last, message_id
    )
),

flagged as (
    select
        *,
        case
            when previous_message_id is null then 1
            when agent_session_id is not null
                and agent_session_id = previous_agent_session_id then 0
            when message_ts - previous_ts > interval '{{ var("conversation_gap_minutes") }} minutes' then 1
            else 0
        end as is_conversation_start
    from with_previous
),

numbered as (
    select
        *,
        sum(is_conversation_start) over (
            partition by tenant_id, contact_key
            order by message_ts nulls last, message_id
            rows between unbounded preceding and current row
        ) as conversation_seq
    from flagged
),

keyed as (
    select
        *,
        first_value(message_id) over (
            partition by tenant_id, contact_key, conversation_seq
            order by message_ts nulls last, message_id
        ) as first_message_id
    from numbered
)

select
    tenant_id,
    message_id,
    message_ts,
    message_local_ts,
    coalesce(message_local_ts::date, source_date) as message_date,
    coalesce(extract(hour from message_local_ts)::integer, source_hour) as message_hour,
    extract(isodow from message_local_ts)::integer as weekday_num,
    coalesce(to_char(message_local_ts, 'FMDay'), source_day_of_week) as day_of_week,
    channel,
    integration,
    direction,
    send_type,
    content_type,
    status,
    contact_id,
    contact_name,
    contact_key || ':' || first_message_id as conversation_key,
    is_conversation_start = 1 as is_conversation_start,
    agent_session_id,
    agent_id,
    close_reason,
    intent,
    is_fallback,
    is_bot,
    is_human,
    message_body,
    updated_at as source_updated_at
from keyed
