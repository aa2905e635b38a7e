-- Every inbound message the bot classified (an intent, incl. the fallback intent), with the outcome
-- of its conversation.

with messages as (
    select * from {{ ref('int_messages__sessionized') }}
    where direction = 'Inbound' and intent is not null
),

conversations as (
    select tenant_id, conversation_key, is_escalated, is_contained
    from {{ ref('int_conversations') }}
)

select
    messages.tenant_id,
    messages.message_id,
    messages.conversation_key,
    messages.message_ts,
    messages.message_date as date,
    messages.channel,
    messages.intent,
    messages.is_fallback,
    coalesce(conversations.is_escalated, false) as conversation_escalated,
    coalesce(conversations.is_contained, false) as conversation_contained
from messages
left join conversations
    on conversations.tenant_id = messages.tenant_id
    and conversations.conversation_key = messages.conversation_key
