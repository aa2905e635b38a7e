{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'message_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ ensure_index(['tenant_id', 'message_id'], unique=true) }}",
            "{{ drop_index_on(['tenant_id', 'message_id']) }}",
            "{{ ensure_index(['tenant_id', 'contact_key', 'message_ts']) }}",
            "{{ drop_index_on(['tenant_id', 'contact_key']) }}",
            "{{ ensure_index(['tenant_id', 'agent_session_id']) }}",
            "{{ ensure_index(['tenant_id', 'conversation_key']) }}",
            "{{ ensure_index(['tenant_id', 'message_ts']) }}",
            "{{ ensure_index(['built_at']) }}",
        ]
    )
}}

-- Messages in tenant-local time, grouped into conversations (docs/contracts.md "dbt marts"):
-- a contact's conversation starts at its first message or after > conversation_gap_minutes without
-- messages from/to that contact, unless the message belongs to the same agent session as the previous
-- one. conversation_key = contact_id || ':' || message_id of the conversation's first message.
-- Incremental: the grouping is a scan of each contact's timeline, so a build re-groups only the
-- contacts with a message written since the tenant's watermark (minus incremental_lookback_minutes; a
-- message that moved to another contact re-groups its old contact too), and of each only the part
-- from the start of the conversation in progress before its first changed message (the earlier
-- messages keep their grouping; a change inside the first conversation, or a message without a time,
-- re-groups the whole contact); every contact when the tenant's row (its time zone) changed. Each row it writes is stamped with the build (built_at: dbt/macros/incremental.sql), which
-- is how fct_messages and int_conversations find what changed. The index on built_at alone (not led
-- by tenant_id) serves that one cross-tenant lookup; the dashboards never read this table.
{%- set incremental = is_incremental() and bi_has_columns(this, ['built_at', 'contact_key', 'message_pk']) %}
{%- set citus = bi_citus_enabled() %}  {#- Citus plans joins between co-located tables, not laterals #}

with tenants as (
    select tenant_id, timezone, updated_at from {{ ref('stg_indigitall__tenants') }}
),

{% if incremental -%}
watermarks as (
    select tenant_id, max(source_updated_at) as watermark
    from {{ this }}
    group by 1
),

changed as (  -- the messages written since their tenant's watermark
    select messages.message_pk, messages.tenant_id, messages.message_id, messages.message_ts,
        coalesce(messages.contact_id, '') as contact_key
    from {{ ref('stg_indigitall__messages') }} as messages
    left join watermarks on watermarks.tenant_id = messages.tenant_id
    left join tenants on tenants.tenant_id = messages.tenant_id
    where messages.message_id is not null
        and (
            watermarks.watermark is null
            or messages.updated_at > watermarks.watermark - {{ bi_lookback() }}
            or tenants.updated_at > watermarks.watermark - {{ bi_lookback() }}
        )
),

changed_points as (  -- where each contact's timeline changed: a changed message's place, new and old
    select tenant_id, contact_key, message_ts from changed
    union all
    select changed.tenant_id, previous.contact_key, previous.message_ts
    from changed
    {% if citus -%}
    inner join {{ this }} as previous
        on previous.tenant_id = changed.tenant_id and previous.message_id = changed.message_id
    {%- else -%}
    cross join lateral (  -- one index probe per changed message (the planner overestimates them)
        select held.contact_key, held.message_ts from {{ this }} as held
        where held.tenant_id = changed.tenant_id and held.message_id = changed.message_id
        offset 0  -- a fence: pulled up into a join, the planner would scan the whole table
    ) as previous
    {%- endif %}
),

changed_contacts as (  -- each contact's earliest change (null: one without a time, the whole contact)
    select tenant_id, contact_key,
        case when bool_and(message_ts is not null) then min(message_ts) end as changed_from
    from changed_points
    group by 1, 2
),

cuts as (  -- the start of the conversation in progress before it (none: from the contact's first message)
    select changed_contacts.tenant_id, changed_contacts.contact_key, cut.message_ts as cut_ts,
        cut.message_id as cut_id
    from changed_contacts
    {% if citus -%}
    left join (
        select distinct on (held.tenant_id, held.contact_key, changed_contacts.changed_from)
            held.tenant_id, held.contact_key, changed_contacts.changed_from, held.message_ts, held.message_id
        from changed_contacts
        inner join {{ this }} as held
            on held.tenant_id = changed_contacts.tenant_id and held.contact_key = changed_contacts.contact_key
        where held.is_conversation_start and held.message_ts < changed_contacts.changed_from
        order by held.tenant_id, held.contact_key, changed_contacts.changed_from,
            held.message_ts desc, held.message_id desc
    ) as cut
        on cut.tenant_id = changed_contacts.tenant_id and cut.contact_key = changed_contacts.contact_key
    {%- else -%}
    left join lateral (  -- backwards on (tenant_id, contact_key, message_ts) from the change
        select held.message_ts, held.message_id from {{ this }} as held
        where held.tenant_id = changed_contacts.tenant_id and held.contact_key = changed_contacts.contact_key
            and held.is_conversation_start and held.message_ts < changed_contacts.changed_from
        order by held.message_ts desc, held.message_id desc
        limit 1
    ) as cut on true
    {%- endif %}
),

regrouped as (  -- the messages from each cut on: the ones this table holds, and the changed ones
    select held.message_pk
    from cuts
    {% if citus -%}
    inner join {{ this }} as held
        on held.tenant_id = cuts.tenant_id and held.contact_key = cuts.contact_key
        and (cuts.cut_ts is null or held.message_ts is null
            or (held.message_ts, held.message_id) >= (cuts.cut_ts, cuts.cut_id))
    {%- else -%}
    cross join lateral (
        select contact_messages.message_pk from {{ this }} as contact_messages
        where contact_messages.tenant_id = cuts.tenant_id
            and contact_messages.contact_key = cuts.contact_key
            and (cuts.cut_ts is null or contact_messages.message_ts is null
                or (contact_messages.message_ts, contact_messages.message_id) >= (cuts.cut_ts, cuts.cut_id))
        offset 0
    ) as held
    {%- endif %}
    union
    select message_pk from changed
),

messages as (
    {% if citus -%}
    select messages.*
    from {{ ref('stg_indigitall__messages') }} as messages
    where messages.message_pk in (select message_pk from regrouped)
        and messages.message_id is not null
    {%- else -%}
    select fetched.*
    from regrouped
    cross join lateral (  -- by primary key: the view's cleaning runs on these rows only
        select * from {{ ref('stg_indigitall__messages') }} as messages
        where messages.message_pk = regrouped.message_pk and messages.message_id is not null
        offset 0
    ) as fetched
    {%- endif %}
),
{%- else -%}
messages as (
    select * from {{ ref('stg_indigitall__messages') }}
    where message_id is not null
),
{%- endif %}

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
    message_pk,
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
    contact_key,
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
    updated_at as source_updated_at,
    {{ bi_build_stamp() }} as built_at
from keyed
