-- Agent sessions that can precede a survey answer (two days of look-back), for agent attribution.
SELECT
    s.contact_id,
    s.agent_id,
    s.agent_email,
    s.session_id,
    coalesce(s.closed_at, s.assigned_at, s.queued_at) AS ended_at
FROM analytics.fct_agent_sessions AS s
WHERE s.date BETWEEN CAST(:date_from AS date) - 2 AND :date_to
  AND s.agent_id IS NOT NULL
  AND coalesce(s.closed_at, s.assigned_at, s.queued_at) IS NOT NULL
