-- Agent sessions with their tenant-local date, close reason and first human response (from the
-- session's messages), wait/handle times and the queue flags behind service level and abandonment.
-- Times are NULL when an end precedes its start (real data holds such anomalies; is_anomaly flags them).

-- Incremental: a session's fields come from its row, its tenant's row (time zone, service level), its
-- agent's email and its messages. A build rebuilds the sessions written since the newest one this table
-- saw of their tenant (source_updated_at, minus incremental_lookback_minutes), every session of a
-- tenant whose row changed since, those whose agent's email is not the one held, and those with a
-- message int_messages__sessionized (re)wrote since this table's build stamp (built_at); their messages
-- are read by agent_session_id. (A session all of whose messages moved to other sessions keeps its
-- counts until the next full build: Indigitall does not move messages between sessions.) A table
-- without built_at is rebuilt in full once; on Citus every build is full (as int_conversations).
-- On Citus the CTEs are inlined (dbt/macros/citus.sql, bi_cte_inline) so the model runs on the workers.
-- Indexed on its key: int_conversations probes it per conversation (its first session).
{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'session_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook="{{ bi_reset_without_columns(['built_at']) }}",
        post_hook=["{{ ensure_index(['tenant_id', 'session_id'], unique=true) }}"]
    )
}}
{%- set inline = bi_cte_inline() %}
{%- set incremental = is_incremental() and not bi_citus_enabled() and bi_has_columns(this, ['built_at']) %}
with
{% if incremental -%}
held_tenants as (  -- per tenant: the newest session row this table saw
    select tenant_id, max(source_updated_at) as watermark
    from {{ this }}
    group by 1
),

changed as (  -- the sessions to rebuild
    select staged.tenant_id, staged.session_id
    from {{ ref('stg_indigitall__chat_conversations') }} as staged
    left join held_tenants on held_tenants.tenant_id = staged.tenant_id
    left join {{ ref('stg_indigitall__tenants') }} as tenant on tenant.tenant_id = staged.tenant_id
    left join {{ ref('stg_indigitall__agents') }} as agent
        on agent.tenant_id = staged.tenant_id and agent.agent_id = staged.agent_id
    left join {{ this }} as held on held.tenant_id = staged.tenant_id and held.session_id = staged.session_id
    where staged.session_id is not null
        and (
            held_tenants.watermark is null
            or staged.updated_at > held_tenants.watermark - {{ bi_lookback() }}
            or tenant.updated_at > held_tenants.watermark - {{ bi_lookback() }}
            or held.session_id is null
            or held.agent_email is distinct from coalesce(staged.agent_email, agent.agent_email)
        )
    union
    select tenant_id, agent_session_id
    from {{ ref('int_messages__sessionized') }}
    where built_at > {{ bi_newest_stamp(this) }}  -- a literal: the planner then probes the built_at index
        and agent_session_id is not null
),

sessions as (
    select staged.*
    from {{ ref('stg_indigitall__chat_conversations') }} as staged
    inner join changed on changed.tenant_id = staged.tenant_id and changed.session_id = staged.session_id
),
{%- else -%}
sessions as {{ inline }} (
    select * from {{ ref('stg_indigitall__chat_conversations') }}
    where session_id is not null
),
{%- endif %}

tenants as {{ inline }} (
    select tenant_id, timezone, service_level_seconds from {{ ref('stg_indigitall__tenants') }}
),

agents as {{ inline }} (
    select tenant_id, agent_id, agent_email from {{ ref('stg_indigitall__agents') }}
),

{% if incremental -%}
messages as (  -- the messages of those sessions
    select session_messages.*
    from changed
    cross join lateral (
        select * from {{ ref('int_messages__sessionized') }} as held
        where held.tenant_id = changed.tenant_id and held.agent_session_id = changed.session_id
        offset 0  -- a fence: pulled up into a join, the planner would scan the whole table
    ) as session_messages
),
{%- else -%}
messages as {{ inline }} (
    select * from {{ ref('int_messages__sessionized') }}
    where agent_session_id is not null
),
{%- endif %}

session_messages as {{ inline }} (
    select
        messages.tenant_id,
        messages.agent_session_id as session_id,
        min(messages.conversation_key) as conversation_key,
        max(messages.close_reason) as close_reason,
        min(messages.channel) as channel,
        min(messages.message_ts) as first_message_at,
        count(*) as messages,
        count(*) filter (where messages.is_human) as agent_messages,
        min(messages.message_ts) filter (
            where messages.is_human
                and messages.message_ts >= date_trunc('second', sessions.assigned_at)
        ) as first_human_message_at
    from messages
    left join sessions
        on sessions.tenant_id = messages.tenant_id
        and sessions.session_id = messages.agent_session_id
    group by 1, 2
),

joined as {{ inline }} (
    select
        sessions.tenant_id,
        sessions.session_id,
        sessions.conversation_session_id,
        coalesce(sessions.initial_session_id, sessions.session_id) as initial_session_id,
        session_messages.conversation_key,
        sessions.contact_id,
        sessions.agent_id,
        coalesce(sessions.agent_email, agents.agent_email) as agent_email,
        coalesce(sessions.channel, session_messages.channel) as channel,
        sessions.queued_at,
        sessions.assigned_at,
        sessions.closed_at,
        (coalesce(sessions.queued_at, sessions.assigned_at)
            at time zone {{ tenant_tz('tenants.timezone') }})::date as date,
        session_messages.close_reason,
        session_messages.first_human_message_at,
        coalesce(session_messages.messages, 0) as messages,
        coalesce(session_messages.agent_messages, 0) as agent_messages,
        {{ seconds_between('sessions.queued_at', 'sessions.assigned_at') }} as raw_wait_seconds,
        {{ seconds_between('sessions.assigned_at', 'sessions.closed_at') }} as raw_handle_seconds,
        {{ seconds_between('sessions.queued_at', 'sessions.closed_at') }} as raw_queue_seconds,
        coalesce(tenants.service_level_seconds, {{ var('service_level_seconds') }}) as service_level_seconds,
        sessions.updated_at as source_updated_at
    from sessions
    left join tenants on tenants.tenant_id = sessions.tenant_id
    left join agents
        on agents.tenant_id = sessions.tenant_id
        and agents.agent_id = sessions.agent_id
    left join session_messages
        on session_messages.tenant_id = sessions.tenant_id
        and session_messages.session_id = sessions.session_id
)

select
    tenant_id,
    session_id,
    conversation_session_id,
    initial_session_id,
    conversation_key,
    contact_id,
    agent_id,
    agent_email,
    channel,
    queued_at,
    assigned_at,
    closed_at,
    date,
    case when raw_wait_seconds >= 0 then raw_wait_seconds end as wait_seconds,
    case when raw_handle_seconds >= 0 then raw_handle_seconds end as handle_seconds,
    case
        when first_human_message_at is not null
            then greatest(0, {{ seconds_between('assigned_at', 'first_human_message_at') }})
    end as first_response_seconds,
    case
        when assigned_at is null and closed_at is not null and raw_queue_seconds >= 0
            then raw_queue_seconds
    end as abandon_seconds,
    close_reason,
    messages,
    agent_messages,
    coalesce(close_reason = 'AGENT_TRANSFER', false) as is_transfer,
    session_id <> initial_session_id as is_transferred_in,
    queued_at is not null as is_queued,
    assigned_at is not null as is_assigned,
    closed_at is not null as is_closed,
    coalesce(
        queued_at is not null and assigned_at is null and closed_at is not null
        and raw_queue_seconds > {{ var('abandon_grace_seconds') }},
        false
    ) as is_abandoned,
    coalesce(
        queued_at is not null and assigned_at is null and closed_at is not null
        and raw_queue_seconds between 0 and {{ var('abandon_grace_seconds') }},
        false
    ) as is_abandoned_within_5s,
    coalesce(raw_wait_seconds < 0 or raw_handle_seconds < 0 or raw_queue_seconds < 0, false) as is_anomaly,
    service_level_seconds,
    coalesce(raw_wait_seconds between 0 and service_level_seconds, false) as is_within_service_level,
    coalesce(
        raw_wait_seconds >= 0
        or (queued_at is not null and assigned_at is null and closed_at is not null
            and raw_queue_seconds > {{ var('abandon_grace_seconds') }}),
        false
    ) as counts_for_service_level,
    source_updated_at,
    {{ bi_build_stamp() }} as built_at
from joined
