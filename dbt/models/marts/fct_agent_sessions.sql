-- One row per agent session (chat_conversations), tenant-local date of queueing.
-- Service level = count(is_within_service_level) / count(counts_for_service_level)
--   (assigned with a valid wait + abandoned after the 5 s grace; anomalies excluded).
-- Abandonment = count(is_abandoned) / count(is_queued).

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
    wait_seconds,
    handle_seconds,
    first_response_seconds,
    abandon_seconds,
    close_reason,
    messages,
    agent_messages,
    is_transfer,
    is_transferred_in,
    is_queued,
    is_assigned,
    is_closed,
    is_abandoned,
    is_abandoned_within_5s,
    is_anomaly,
    service_level_seconds,
    is_within_service_level,
    counts_for_service_level
from {{ ref('int_agent_sessions') }}
