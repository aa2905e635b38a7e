-- Per tenant x tenant-local date x agent: messages written (by message date), sessions handled,
-- distinct contacts, Σ wait / handle seconds (with their counts for means), transfers.
-- Medians over a window come from fct_agent_sessions; active days = count of rows with sessions > 0.

with sessions as (
    select * from {{ ref('fct_agent_sessions') }}
    where agent_id is not null and date is not null
),

session_days as (
    select
        tenant_id,
        date,
        agent_id,
        max(agent_email) as agent_email,
        count(*) as sessions,
        count(distinct contact_id) as contacts,
        coalesce(sum(wait_seconds), 0) as wait_seconds_sum,
        count(wait_seconds) as waits,
        coalesce(sum(handle_seconds), 0) as handle_seconds_sum,
        count(handle_seconds) as handles,
        count(*) filter (where is_transfer) as transfers
    from sessions
    group by 1, 2, 3
),

message_days as (
    select tenant_id, date, agent_id, count(*) as messages
    from {{ ref('fct_messages') }}
    where is_human and agent_id is not null
    group by 1, 2, 3
),

agents as (
    select tenant_id, agent_id, max(agent_email) as agent_email
    from {{ ref('stg_indigitall__agents') }}
    group by 1, 2
)

select
    coalesce(session_days.tenant_id, message_days.tenant_id) as tenant_id,
    coalesce(session_days.date, message_days.date) as date,
    coalesce(session_days.agent_id, message_days.agent_id) as agent_id,
    coalesce(session_days.agent_email, agents.agent_email) as agent_email,
    coalesce(message_days.messages, 0) as messages,
    coalesce(session_days.sessions, 0) as sessions,
    coalesce(session_days.contacts, 0) as contacts,
    coalesce(session_days.wait_seconds_sum, 0) as wait_seconds_sum,
    coalesce(session_days.waits, 0) as waits,
    coalesce(session_days.handle_seconds_sum, 0) as handle_seconds_sum,
    coalesce(session_days.handles, 0) as handles,
    coalesce(session_days.transfers, 0) as transfers
from session_days
full outer join message_days
    on message_days.tenant_id = session_days.tenant_id
    and message_days.date = session_days.date
    and message_days.agent_id = session_days.agent_id
left join agents
    on agents.tenant_id = coalesce(session_days.tenant_id, message_days.tenant_id)
    and agents.agent_id = coalesce(session_days.agent_id, message_days.agent_id)
