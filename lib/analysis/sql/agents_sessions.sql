-- Agent sessions of the window (session date in tenant time), with the local hour/weekday of queueing.
SELECT
    s.session_id,
    coalesce(s.agent_id, '(sin asignar)') AS agent_id,
    s.agent_email,
    coalesce(s.channel, '(sin canal)') AS channel,
    s.contact_id,
    s.date,
    extract(hour FROM s.queued_at AT TIME ZONE :tz)::int AS hour,
    extract(isodow FROM s.queued_at AT TIME ZONE :tz)::int AS weekday_num,
    s.wait_seconds,
    s.handle_seconds,
    s.first_response_seconds,
    s.close_reason,
    coalesce(s.is_transfer, false) AS is_transfer,
    coalesce(s.is_assigned, false) AS is_assigned,
    coalesce(s.is_abandoned, false) AS is_abandoned,
    coalesce(s.is_anomaly, false) AS is_anomaly
FROM analytics.fct_agent_sessions AS s
WHERE s.date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR s.channel = CAST(:channel AS text))
ORDER BY s.date, s.session_id
