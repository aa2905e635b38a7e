-- Where the bot fails: inbound fallbacks per tenant x date x channel x context intent (the last
-- meaningful intent recognised before the fallback in its conversation; '(inicio de la conversación)'
-- when the bot failed before recognising anything). "Intents con más fallback" ranks these.

select
    tenant_id,
    date,
    coalesce(channel, 'unknown') as channel,
    coalesce(context_intent, '(inicio de la conversación)') as context_intent,
    count(*) as fallbacks,
    count(distinct conversation_key) as conversations
from {{ ref('int_intents') }}
where is_fallback
group by 1, 2, 3, 4
