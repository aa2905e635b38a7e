-- Per tenant x date x channel x intent: inbound messages classified with the intent, how many were
-- fallbacks, how many belong to a conversation that ended in escalation (share = escalated ÷
-- occurrences), and distinct conversations.

select
    tenant_id,
    date,
    coalesce(channel, 'unknown') as channel,
    intent,
    count(*) as occurrences,
    count(*) filter (where is_fallback) as fallbacks,
    count(*) filter (where conversation_escalated) as escalated,
    count(distinct conversation_key) as conversations
from {{ ref('int_intents') }}
group by 1, 2, 3, 4
