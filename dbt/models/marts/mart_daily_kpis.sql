-- Additive daily chat counts per tenant x tenant-local date x channel. Rates over a window are
-- Σnumerator ÷ Σdenominator of these rows. unique_contacts is per day only (not additive: use
-- fct_messages for a window's distinct contacts).

-- Incremental: a build rewrites only the tenant-days whose messages or conversations changed, as
-- fct_messages and int_conversations logged them (dbt/macros/change_log.sql: old and new day of every
-- row they replaced or added with other values in the columns read here: their change_log_columns,
-- which must list every column this model reads), plus every day holding a message of an agent
-- session that a changed message left or joined (a session counts on the day of its first message,
-- which may be unchanged). The pre-hook deletes those days; the model emits them.
-- A full build when the table is new or predates built_at, on --full-refresh, and on Citus (the CTEs
-- inlined there, dbt/macros/citus.sql, bi_cte_inline, so the model runs on the workers). A full refresh
-- of fct_messages or int_conversations alone leaves no log: refresh their descendants with them (`+`).
-- delete+insert (the days it emits are gone already), not append: on Citus the rows must reach the
-- shards through INSERT (dbt/macros/citus.sql).
{%- set incremental = is_incremental() and not bi_citus_enabled() and bi_has_columns(this, ['built_at']) %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant_id', 'date'],
        on_schema_change='append_new_columns',
        pre_hook="{{ mart_daily_kpis_clear(bi_citus_enabled() or not bi_has_columns(this, ['built_at'])) }}",
        post_hook=["{{ bi_change_log_consumed() }}"]
    )
}}
{%- set inline = bi_cte_inline() %}
with
{% if incremental -%}
dirty_days as (
    {{ mart_daily_kpis_dirty_days(this) }}
),

messages as (  -- the dirty days' messages, and every message of a session with one on those days
    select held.*
    from {{ ref('fct_messages') }} as held
    where exists (
        select 1 from dirty_days
        where dirty_days.tenant_id = held.tenant_id and dirty_days.date = held.date
    )
    union
    select held.*
    from {{ ref('fct_messages') }} as held
    inner join (
        select distinct held.tenant_id, held.agent_session_id
        from dirty_days
        inner join {{ ref('fct_messages') }} as held
            on held.tenant_id = dirty_days.tenant_id and held.date = dirty_days.date
        where held.agent_session_id is not null
    ) as sessions
        on sessions.tenant_id = held.tenant_id and sessions.agent_session_id = held.agent_session_id
),

conversations as (
    select held.*
    from {{ ref('fct_conversations') }} as held
    where exists (
        select 1 from dirty_days
        where dirty_days.tenant_id = held.tenant_id and dirty_days.date = held.start_date
    )
),
{%- else -%}
messages as {{ inline }} (
    select * from {{ ref('fct_messages') }}
),

conversations as {{ inline }} (
    select * from {{ ref('fct_conversations') }}
),
{%- endif %}

message_days as {{ inline }} (
    select
        tenant_id,
        date,
        coalesce(channel, 'unknown') as channel,
        count(*) as messages,
        count(*) filter (where direction = 'Inbound') as inbound_messages,
        count(*) filter (where direction = 'Bot') as bot_messages,
        count(*) filter (where direction = 'Agent') as agent_messages,
        count(*) filter (where direction = 'System') as system_messages,
        count(*) filter (where direction = 'Outbound') as outbound_messages,
        count(distinct contact_id) as unique_contacts,
        count(*) filter (
            where is_fallback and direction = 'Inbound' and intent is not null
        ) as fallback_count,
        count(*) filter (where direction = 'Inbound' and intent is not null) as bot_answered_inbound,
        count(*) filter (
            where direction <> 'Inbound'
                and status in ('channel_sent', 'channel_delivered', 'channel_read')
        ) as sent_outbound,
        count(*) filter (
            where direction <> 'Inbound' and status in ('channel_delivered', 'channel_read')
        ) as delivered_outbound,
        count(*) filter (where direction <> 'Inbound' and status = 'channel_read') as read_outbound
    from messages
    {% if incremental -%}
    where exists (
        select 1 from dirty_days
        where dirty_days.tenant_id = messages.tenant_id and dirty_days.date = messages.date
    )
    {% endif -%}
    group by 1, 2, 3
),

agent_conversation_starts as {{ inline }} (
    select distinct on (tenant_id, agent_session_id)
        tenant_id,
        agent_session_id,
        date,
        coalesce(channel, 'unknown') as channel
    from messages
    where agent_session_id is not null
    order by tenant_id, agent_session_id, message_ts nulls last, message_id
),

agent_conversation_days as {{ inline }} (
    select tenant_id, date, channel, count(*) as agent_conversations
    from agent_conversation_starts
    {% if incremental -%}
    where exists (
        select 1 from dirty_days
        where dirty_days.tenant_id = agent_conversation_starts.tenant_id
            and dirty_days.date = agent_conversation_starts.date
    )
    {% endif -%}
    group by 1, 2, 3
),

conversation_days as {{ inline }} (
    select
        tenant_id,
        start_date as date,
        coalesce(channel, 'unknown') as channel,
        count(*) as conversations,
        count(*) filter (where has_bot) as bot_conversations,
        count(*) filter (where is_contained) as contained_conversations,
        count(*) filter (where is_escalated) as escalated_conversations,
        count(*) filter (where has_human) as human_conversations,
        count(*) filter (where reached_queue) as queued_conversations
    from conversations
    group by 1, 2, 3
),

keys as {{ inline }} (
    select tenant_id, date, channel from message_days
    union
    select tenant_id, date, channel from conversation_days
    union
    select tenant_id, date, channel from agent_conversation_days
)

select
    keys.tenant_id,
    keys.date,
    keys.channel,
    coalesce(message_days.messages, 0) as messages,
    coalesce(message_days.inbound_messages, 0) as inbound_messages,
    coalesce(message_days.bot_messages, 0) as bot_messages,
    coalesce(message_days.agent_messages, 0) as agent_messages,
    coalesce(message_days.system_messages, 0) as system_messages,
    coalesce(message_days.outbound_messages, 0) as outbound_messages,
    coalesce(message_days.unique_contacts, 0) as unique_contacts,
    coalesce(conversation_days.conversations, 0) as conversations,
    coalesce(agent_conversation_days.agent_conversations, 0) as agent_conversations,
    coalesce(message_days.fallback_count, 0) as fallback_count,
    coalesce(message_days.bot_answered_inbound, 0) as bot_answered_inbound,
    coalesce(conversation_days.bot_conversations, 0) as bot_conversations,
    coalesce(conversation_days.contained_conversations, 0) as contained_conversations,
    coalesce(conversation_days.escalated_conversations, 0) as escalated_conversations,
    coalesce(conversation_days.human_conversations, 0) as human_conversations,
    coalesce(conversation_days.queued_conversations, 0) as queued_conversations,
    coalesce(message_days.sent_outbound, 0) as sent_outbound,
    coalesce(message_days.delivered_outbound, 0) as delivered_outbound,
    coalesce(message_days.read_outbound, 0) as read_outbound,
    {{ bi_build_stamp() }} as built_at
from keys
left join message_days
    on message_days.tenant_id = keys.tenant_id
    and message_days.date = keys.date
    and message_days.channel = keys.channel
left join conversation_days
    on conversation_days.tenant_id = keys.tenant_id
    and conversation_days.date = keys.date
    and conversation_days.channel = keys.channel
left join agent_conversation_days
    on agent_conversation_days.tenant_id = keys.tenant_id
    and agent_conversation_days.date = keys.date
    and agent_conversation_days.channel = keys.channel
