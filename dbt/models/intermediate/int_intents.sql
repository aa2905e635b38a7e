-- Every inbound message the bot classified (an intent, incl. the fallback intent), with the outcome
-- of its conversation and, for a fallback, its context: the last meaningful intent (not a welcome,
-- not a fallback) recognised earlier in the same conversation (NULL when the bot failed first).

-- Incremental: a row's fields come from its conversation's messages and outcome, which
-- int_conversations recomputes (computed_at) whenever one of them can have changed. A build re-emits
-- the intents of the conversations it recomputed since this table's build (delete+insert on
-- tenant_id + conversation_key); the pre-hook first removes the rows of every message
-- int_messages__sessionized rewrote since (it may have left its conversation, or no longer be an
-- intent). A table without built_at is rebuilt in full once; on Citus every build is full (the
-- pre-hook empties the table).
{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'conversation_key'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook=["{{ bi_reset_without_columns(['built_at']) }}", "{{ int_intents_clear() }}"],
        post_hook=[
            "{{ ensure_index(['tenant_id', 'message_id'], unique=true) }}",
            "{{ ensure_index(['tenant_id', 'conversation_key']) }}",
            "{{ ensure_index(['built_at']) }}",
        ]
    )
}}
{%- set incremental = is_incremental() and not bi_citus_enabled() and bi_has_columns(this, ['built_at']) %}
{%- set inline = bi_cte_inline() %}
with
{% if incremental -%}
recomputed as (  -- the conversations int_conversations recomputed since this table's build
    select tenant_id, conversation_key, is_escalated, is_contained
    from {{ ref('int_conversations') }}
    where computed_at > {{ bi_newest_stamp(this) }}  -- a literal: the planner then probes the index
),

messages as (  -- their classified inbound messages (by index: the planner's estimate may be stale)
    select conversation_messages.*, recomputed.is_escalated, recomputed.is_contained
    from recomputed
    cross join lateral (
        select * from {{ ref('int_messages__sessionized') }} as held
        where held.tenant_id = recomputed.tenant_id and held.conversation_key = recomputed.conversation_key
            and held.direction = 'Inbound' and held.intent is not null
        offset 0  -- a fence: pulled up into a join, the planner would scan the whole table
    ) as conversation_messages
),
{%- else -%}
messages as {{ inline }} (
    select held.*, conversations.is_escalated, conversations.is_contained
    from {{ ref('int_messages__sessionized') }} as held
    left join {{ ref('int_conversations') }} as conversations
        on conversations.tenant_id = held.tenant_id
        and conversations.conversation_key = held.conversation_key
    where held.direction = 'Inbound' and held.intent is not null
),
{%- endif %}

classified as {{ inline }} (
    select
        messages.*,
        case when not coalesce(messages.is_fallback, false)
                and {{ is_welcome_intent('messages.intent') }} is not true
            then messages.intent end as meaningful_intent
    from messages
),

with_context as {{ inline }} (
    select
        classified.*,
        (array_remove(array_agg(meaningful_intent) over (
            partition by tenant_id, conversation_key
            order by message_ts nulls last, message_id
            rows between unbounded preceding and 1 preceding
        ), null)) as previous_intents
    from classified
)

select
    tenant_id,
    message_id,
    conversation_key,
    message_ts,
    message_date as date,
    channel,
    intent,
    is_fallback,
    coalesce(is_escalated, false) as conversation_escalated,
    coalesce(is_contained, false) as conversation_contained,
    case when is_fallback then previous_intents[cardinality(previous_intents)] end as context_intent,
    {{ bi_build_stamp() }} as built_at
from with_context
