-- One row per conversation (see int_messages__sessionized for the grouping rule): message mix,
-- bot/human involvement, escalation and containment, its agent sessions (first one's queue times),
-- first human response, transfers, resolution time, and the contact's next conversation.
-- Containment (docs/contracts.md): bot involved, no human message AND never handed to the agent queue
-- (a contact who asked for an agent and gave up in the queue is not contained); escalation is the
-- rest of the bot conversations. first_meaningful_intent skips welcome and fallback intents.
-- Repeat contact is censored at the end of the data: a closed conversation counts only when a full
-- 24 h after its end has been loaded (is_repeat_observable).

-- Incremental: a conversation's fields come from its messages and agent sessions, from the tenant's
-- end of data (is_closed, is_repeat_observable), and from its contact's next conversation
-- (next_started_at, is_followed_within_24h). A build re-emits every conversation of the contacts
-- (contact_key; delete+insert on tenant_id + contact_key, so a key that no longer exists goes too)
-- with a conversation that can have changed: one with a message int_messages__sessionized (re)wrote
-- since this table's build stamp, one with a message of an agent session written after the newest one
-- the tenant's conversations saw (sessions_updated_at, minus incremental_lookback_minutes) or of a
-- session with a rewritten message, or one that the tenant's new end of data closes (closes_at: its
-- end plus the gap, once its sessions are closed) or whose repeat window it completes: only those can
-- change as the data grows. Only they are rebuilt from their messages (read by conversation_key); the
-- contact's other conversations are carried over as held (`kept`, while they still have as many
-- messages) and only their next conversation is looked at again. computed_at is the build that
-- computed a row from its messages (a carried row keeps its own; built_at is the build that wrote it):
-- int_intents follows it. Bookkeeping columns stay out of fct_conversations. The start days of the
-- conversations that changed (or went) go to the change log for mart_daily_kpis, compared on the
-- columns that mart reads (change_log_columns: add one there when it reads one more; a contact's older
-- conversations change in next_started_at and the like, which it does not read).

-- On Citus the CTEs are inlined (dbt/macros/citus.sql, bi_cte_inline) so the model runs on the workers.
{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'contact_key'],
        incremental_strategy='logged_delete_insert',
        change_log_day='start_date',
        change_log_columns=['tenant_id', 'conversation_key', 'start_date', 'channel', 'has_bot',
                            'is_contained', 'is_escalated', 'has_human', 'reached_queue'],
        on_schema_change='append_new_columns',
        pre_hook="{{ bi_reset_without_columns(bi_conversation_bookkeeping()) }}",
        post_hook=["{{ ensure_index(['tenant_id', 'contact_key']) }}", "{{ ensure_index(['computed_at']) }}"]
    )
}}
{%- set inline = bi_cte_inline() %}
{#- On Citus every build takes the full branch (its delete+insert then rewrites every row): the
    incremental one probes indexes row by row (laterals), which Citus does not plan across shards. -#}
{%- set incremental = is_incremental() and not bi_citus_enabled()
    and bi_has_columns(this, bi_conversation_bookkeeping()) %}
{%- set coverage = adapter.get_relation(database=target.database, schema='public', identifier='data_coverage') %}
-- `sessions` is never materialized: joined as the table itself, with its statistics and its
-- (tenant_id, session_id) index; a materialized CTE has neither, and the planner merged a conversation's
-- first session with every session of its tenant (139 M rows compared: 17 of the query's 24 s on a
-- 20-tenant copy without statistics).
with sessions as not materialized (
    select * from {{ ref('int_agent_sessions') }}
),

{% if coverage -%}
messages_coverage as {{ inline }} (  -- how far each tenant's messages are loaded
    select tenant_id, max(loaded_through) as loaded_through
    from {{ coverage }}
    where entity = 'messages'
    group by 1
),
{%- endif %}

{% if incremental -%}
held_tenants as (  -- per tenant: the newest agent session its conversations saw
    select tenant_id, max(sessions_updated_at) as session_watermark
    from {{ this }}
    group by 1
),

restamped as (  -- the conversations of the messages int_messages__sessionized (re)wrote since this build
    select distinct tenant_id, contact_key, conversation_key, agent_session_id
    from {{ ref('int_messages__sessionized') }}
    where built_at > {{ bi_newest_stamp(this) }}  -- a literal: the planner then probes the built_at index
),

tenant_latest as (  -- each tenant's end of data: its newest message (one index probe), its coverage
    select
        tenants.tenant_id,
        latest.latest_message_at,
        {% if coverage -%}
        coalesce(cov.loaded_through, latest.latest_message_at)
        {%- else -%}
        latest.latest_message_at
        {%- endif %} as loaded_through
    from (select tenant_id from held_tenants union select tenant_id from restamped) as tenants
    cross join lateral (
        select max(newest.message_ts) as latest_message_at
        from {{ ref('int_messages__sessionized') }} as newest
        where newest.tenant_id = tenants.tenant_id
    ) as latest
    {% if coverage -%}
    left join messages_coverage as cov on cov.tenant_id = tenants.tenant_id
    {%- endif %}
),

touched_sessions as (
    -- agent sessions written since the tenant's watermark
    select sessions.tenant_id, sessions.session_id
    from sessions
    left join held_tenants on held_tenants.tenant_id = sessions.tenant_id
    where held_tenants.session_watermark is null
        or sessions.source_updated_at > held_tenants.session_watermark - {{ bi_lookback() }}
    union
    -- and those with a message rewritten (a session rolls up all of its messages)
    select tenant_id, agent_session_id from restamped where agent_session_id is not null
),

touched as (  -- the conversations that can have changed
    select tenant_id, contact_key, conversation_key from restamped
    union
    -- every conversation with a message of those sessions
    select touched_sessions.tenant_id, session_messages.contact_key, session_messages.conversation_key
    from touched_sessions
    cross join lateral (
        select session_message.contact_key, session_message.conversation_key
        from {{ ref('int_messages__sessionized') }} as session_message
        where session_message.tenant_id = touched_sessions.tenant_id
            and session_message.agent_session_id = touched_sessions.session_id
        offset 0  -- a fence: pulled up into a join, the planner would scan the whole table
    ) as session_messages
    union
    -- conversations the new end of data closes, or whose repeat window it completes
    select previous.tenant_id, previous.contact_key, previous.conversation_key
    from {{ this }} as previous
    inner join tenant_latest on tenant_latest.tenant_id = previous.tenant_id
    where previous.closes_at <= tenant_latest.latest_message_at
        and (
            not previous.is_closed
            or (not previous.is_repeat_observable
                and previous.ended_at
                    <= tenant_latest.loaded_through - interval '{{ var("repeat_contact_hours") }} hours')
        )
),

held as (  -- what this table holds of the contacts of those conversations
    select contact_conversations.*
    from (select distinct tenant_id, contact_key from touched) as touched_contacts
    cross join lateral (
        select * from {{ this }} as held
        where held.tenant_id = touched_contacts.tenant_id and held.contact_key = touched_contacts.contact_key
        offset 0
    ) as contact_conversations
),

kept as (  -- their other conversations, still made of the messages they counted: carried over as held
    select held.*
    from held
    cross join lateral (
        select count(*) as messages
        from {{ ref('int_messages__sessionized') }} as current_message
        where current_message.tenant_id = held.tenant_id
            and current_message.conversation_key = held.conversation_key
    ) as current_conversation
    where current_conversation.messages = held.messages
        and not exists (
            select 1 from touched
            where touched.tenant_id = held.tenant_id and touched.conversation_key = held.conversation_key
        )
),

recomputed as (  -- the rest: rebuilt from their messages (a held one without messages now goes)
    select tenant_id, conversation_key from touched
    union
    select tenant_id, conversation_key from held
    except
    select tenant_id, conversation_key from kept
),

messages as (  -- every message of the recomputed conversations
    select conversation_messages.*
    from recomputed
    cross join lateral (
        select * from {{ ref('int_messages__sessionized') }} as held
        where held.tenant_id = recomputed.tenant_id and held.conversation_key = recomputed.conversation_key
        offset 0
    ) as conversation_messages
),
{%- else -%}
messages as {{ inline }} (
    select * from {{ ref('int_messages__sessionized') }}
),

tenant_latest as {{ inline }} (
    select messages.tenant_id, max(messages.message_ts) as latest_message_at,
        {% if coverage -%}
        coalesce(max(cov.loaded_through), max(messages.message_ts))
        {%- else -%}
        max(messages.message_ts)
        {%- endif %} as loaded_through
    from messages
    {% if coverage -%}
    left join messages_coverage as cov on cov.tenant_id = messages.tenant_id
    {%- endif %}
    group by 1
),
{%- endif %}

first_message as {{ inline }} (
    select distinct on (tenant_id, conversation_key)
        tenant_id,
        conversation_key,
        contact_id,
        channel,
        message_ts as started_at,
        message_date as start_date
    from messages
    order by tenant_id, conversation_key, message_ts nulls last, message_id
),

first_intent as {{ inline }} (
    select distinct on (tenant_id, conversation_key)
        tenant_id,
        conversation_key,
        intent as first_intent
    from messages
    where direction = 'Inbound' and intent is not null
    order by tenant_id, conversation_key, message_ts nulls last, message_id
),

first_meaningful_intent as {{ inline }} (
    select distinct on (tenant_id, conversation_key)
        tenant_id,
        conversation_key,
        intent as first_meaningful_intent
    from messages
    where direction = 'Inbound' and intent is not null and not coalesce(is_fallback, false)
        and {{ is_welcome_intent('intent') }} is not true
    order by tenant_id, conversation_key, message_ts nulls last, message_id
),

first_session as {{ inline }} (
    select distinct on (tenant_id, conversation_key)
        tenant_id,
        conversation_key,
        agent_session_id as first_session_id
    from messages
    where agent_session_id is not null
    order by tenant_id, conversation_key, message_ts nulls last, message_id
),

message_counts as {{ inline }} (
    select
        tenant_id,
        conversation_key,
        max(message_ts) as ended_at,
        count(*) as messages,
        count(*) filter (where direction = 'Inbound') as inbound_messages,
        count(*) filter (where direction = 'Bot') as bot_messages,
        count(*) filter (where direction = 'Agent') as agent_messages,
        count(*) filter (where direction = 'System') as system_messages,
        count(*) filter (where direction = 'Outbound') as outbound_messages,
        bool_or(is_bot) as has_bot,
        bool_or(is_human) as has_human,
        bool_or(is_fallback) as had_fallback,
        count(distinct agent_session_id) as agent_sessions
    from messages
    group by 1, 2
),

conversation_sessions as {{ inline }} (
    select distinct tenant_id, conversation_key, agent_session_id as session_id
    from messages
    where agent_session_id is not null
),

session_rollup as {{ inline }} (
    select
        conversation_sessions.tenant_id,
        conversation_sessions.conversation_key,
        count(*) filter (where sessions.is_transfer) as transfers,
        sum(sessions.handle_seconds) as handle_seconds,
        max(sessions.closed_at) as last_closed_at,
        bool_and(sessions.closed_at is not null) as all_sessions_closed,
        max(sessions.source_updated_at) as sessions_updated_at
    from conversation_sessions
    left join sessions
        on sessions.tenant_id = conversation_sessions.tenant_id
        and sessions.session_id = conversation_sessions.session_id
    group by 1, 2
),

assembled as {{ inline }} (
    select
        first_message.tenant_id,
        first_message.conversation_key,
        first_message.contact_id,
        first_message.channel,
        first_message.started_at,
        first_message.start_date,
        message_counts.ended_at,
        message_counts.messages,
        message_counts.inbound_messages,
        message_counts.bot_messages,
        message_counts.agent_messages,
        message_counts.system_messages,
        message_counts.outbound_messages,
        message_counts.has_bot,
        message_counts.has_human,
        message_counts.has_bot and (message_counts.has_human or message_counts.agent_sessions > 0)
            as is_escalated,
        message_counts.has_bot and not message_counts.has_human and message_counts.agent_sessions = 0
            as is_contained,
        message_counts.agent_sessions > 0 as reached_queue,
        first_intent.first_intent,
        first_meaningful_intent.first_meaningful_intent,
        message_counts.had_fallback,
        message_counts.agent_sessions,
        coalesce(session_rollup.transfers, 0) as transfers,
        first_session.first_session_id,
        sessions.queued_at,
        sessions.assigned_at,
        sessions.wait_seconds,
        coalesce(sessions.is_abandoned, false) as is_abandoned,
        session_rollup.handle_seconds,
        session_rollup.last_closed_at,
        coalesce(session_rollup.all_sessions_closed, true) as all_sessions_closed,
        session_rollup.sessions_updated_at,
        tenant_latest.latest_message_at,
        tenant_latest.loaded_through
    from first_message
    inner join message_counts
        on message_counts.tenant_id = first_message.tenant_id
        and message_counts.conversation_key = first_message.conversation_key
    left join first_intent
        on first_intent.tenant_id = first_message.tenant_id
        and first_intent.conversation_key = first_message.conversation_key
    left join first_meaningful_intent
        on first_meaningful_intent.tenant_id = first_message.tenant_id
        and first_meaningful_intent.conversation_key = first_message.conversation_key
    left join first_session
        on first_session.tenant_id = first_message.tenant_id
        and first_session.conversation_key = first_message.conversation_key
    left join sessions
        on sessions.tenant_id = first_session.tenant_id
        and sessions.session_id = first_session.first_session_id
    left join session_rollup
        on session_rollup.tenant_id = first_message.tenant_id
        and session_rollup.conversation_key = first_message.conversation_key
    left join tenant_latest on tenant_latest.tenant_id = first_message.tenant_id
),

first_human_response as {{ inline }} (
    select
        assembled.tenant_id,
        assembled.conversation_key,
        min(messages.message_ts) as first_human_message_at
    from assembled
    inner join messages
        on messages.tenant_id = assembled.tenant_id
        and messages.conversation_key = assembled.conversation_key
        and messages.is_human
        and messages.message_ts >= date_trunc('second', assembled.assigned_at)
    group by 1, 2
),

resolved as {{ inline }} (
    select
        assembled.*,
        case
            when first_human_response.first_human_message_at is not null then greatest(
                0, {{ seconds_between('assembled.assigned_at', 'first_human_response.first_human_message_at') }}
            )
        end as first_human_response_seconds,
        case
            when assembled.agent_sessions = 0
                then {{ seconds_between('assembled.started_at', 'assembled.ended_at') }}
            when assembled.all_sessions_closed and assembled.last_closed_at >= assembled.started_at
                then {{ seconds_between('assembled.started_at', 'assembled.last_closed_at') }}
        end as resolution_seconds,
        assembled.all_sessions_closed
            and assembled.ended_at
                <= assembled.latest_message_at - interval '{{ var("conversation_gap_minutes") }} minutes'
            as is_closed
    from assembled
    left join first_human_response
        on first_human_response.tenant_id = assembled.tenant_id
        and first_human_response.conversation_key = assembled.conversation_key
),

{#- every column but those that follow from a contact's next conversation (next_started_at,
    is_followed_within_24h) and the build stamp: what a kept conversation carries over -#}
{%- set carried = ['tenant_id', 'conversation_key', 'contact_id', 'channel', 'started_at', 'start_date',
    'ended_at', 'messages', 'inbound_messages', 'bot_messages', 'agent_messages', 'system_messages',
    'outbound_messages', 'has_bot', 'has_human', 'is_escalated', 'is_contained', 'first_intent',
    'had_fallback', 'agent_sessions', 'transfers', 'first_session_id', 'queued_at', 'assigned_at',
    'wait_seconds', 'first_human_response_seconds', 'handle_seconds', 'resolution_seconds', 'is_abandoned',
    'is_closed', 'reached_queue', 'first_meaningful_intent', 'is_repeat_observable', 'contact_key',
    'sessions_updated_at', 'closes_at', 'computed_at'] %}
computed as {{ inline }} (
    select
        {% for column in carried
            if column not in ['is_repeat_observable', 'contact_key', 'closes_at', 'computed_at'] -%}
        {{ column }},
        {% endfor -%}
        coalesce(
            is_closed and ended_at <= loaded_through - interval '{{ var("repeat_contact_hours") }} hours',
            false
        ) as is_repeat_observable,
        coalesce(contact_id, '') as contact_key,
        case when all_sessions_closed
            then ended_at + interval '{{ var("conversation_gap_minutes") }} minutes' end as closes_at,
        {{ bi_build_stamp() }} as computed_at
    from resolved
),

combined as {{ inline }} (
    select {{ carried | join(', ') }} from computed
    {%- if incremental %}
    union all
    select {{ carried | join(', ') }} from kept
    {%- endif %}
),

sequenced as {{ inline }} (
    select
        combined.*,
        lead(started_at) over (
            partition by tenant_id, contact_id
            order by started_at, conversation_key
        ) as next_started_at
    from combined
)

select
    {% for column in carried if column not in ['reached_queue', 'first_meaningful_intent',
        'is_repeat_observable', 'contact_key', 'sessions_updated_at', 'closes_at', 'computed_at'] -%}
    {{ column }},
    {% endfor -%}
    next_started_at,
    coalesce(
        is_closed and next_started_at <= ended_at + interval '{{ var("repeat_contact_hours") }} hours',
        false
    ) as is_followed_within_24h,
    reached_queue,
    first_meaningful_intent,
    is_repeat_observable,
    contact_key,
    sessions_updated_at,
    closes_at,
    computed_at,
    {{ bi_build_stamp() }} as built_at
from sequenced
