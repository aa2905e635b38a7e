-- Queue / service counts per tenant x tenant-local date (of queueing) x channel, additive:
--   service level = Σanswered_within_target ÷ Σservice_level_base
--   abandonment   = Σabandoned ÷ Σqueued
--   transfer rate = Σtransfers ÷ Σsessions
-- Medians / p90 of times come from fct_agent_sessions.

select
    tenant_id,
    date,
    coalesce(channel, 'unknown') as channel,
    count(*) as sessions,
    count(*) filter (where is_queued) as queued,
    count(*) filter (where is_assigned) as assigned,
    count(*) filter (where is_abandoned) as abandoned,
    count(*) filter (where is_abandoned_within_5s) as abandoned_within_5s,
    count(*) filter (where is_within_service_level) as answered_within_target,
    count(*) filter (where counts_for_service_level) as service_level_base,
    count(*) filter (where is_transfer) as transfers,
    count(*) filter (where is_anomaly) as anomalies,
    count(wait_seconds) as waits,
    coalesce(sum(wait_seconds), 0) as wait_seconds_sum,
    count(handle_seconds) as handles,
    coalesce(sum(handle_seconds), 0) as handle_seconds_sum,
    count(first_response_seconds) as first_responses,
    coalesce(sum(first_response_seconds), 0) as first_response_seconds_sum,
    {{ pct('count(*) filter (where is_within_service_level)',
           'count(*) filter (where counts_for_service_level)') }} as service_level,
    {{ pct('count(*) filter (where is_abandoned)', 'count(*) filter (where is_queued)') }}
        as abandonment_rate,
    {{ pct('count(*) filter (where is_transfer)', 'count(*)') }} as transfer_rate
from {{ ref('fct_agent_sessions') }}
where date is not null
group by 1, 2, 3
