-- Every inbound message the bot classified (an intent, incl. the fallback intent), with the outcome
-- of its conversation and, for a fallback, its context: the last meaningful intent (not a welcome,
-- not a fallback) recognised earlier in the same conversation (NULL when the bot failed first).

with messages as (
    select * from {{ ref('int_messages__sessionized') }}
    where direction = 'Inbound' and intent is not null
),

classified as (
    select
        messages.*,
        case when not coalesce(messages.is_fallback, false)
                and {{ is_welcome_intent('messages.intent') }} is not true
            then messages.intent end as meaningful_intent
    from messages
),

with_context as (
    select
        classified.*,
        (array_remove(array_agg(meaningful_intent) over (
            partition by tenant_id, conversation_key
            order by message_ts nulls last, message_id
            rows between unbounded preceding and 1 preceding
        ), null)) as previous_intents
    from classified
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
    coalesce(conversations.is_contained, false) as conversation_contained,
    case when messages.is_fallback
        then messages.previous_intents[cardinality(messages.previous_intents)] end as context_intent
from with_context as messages
left join conversations
    on conversations.tenant_id = messages.tenant_id
    and conversations.conversation_key = messages.conversation_key
