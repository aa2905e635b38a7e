-- Additive daily chat counts per tenant x tenant-local date x channel. Rates over a window are
-- Σnumerator ÷ Σdenominator of these rows. unique_contacts is per day only (not additive: use
-- fct_messages for a window's distinct contacts).

-- On Citus the CTEs are inlined (dbt/macros/citus.sql, bi_cte_inline) so the model runs on the workers.
{%- set inline = bi_cte_inline() %}
with messages as {{ inline }} (
    select * from {{ ref('fct_messages') }}
),

conversations as {{ inline }} (
    select * from {{ ref('fct_conversations') }}
),

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
    coalesce(message_days.read_outbound, 0) as read_outbound
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
