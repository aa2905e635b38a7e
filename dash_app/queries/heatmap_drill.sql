-- The inbound messages behind one heatmap cell (weekday × hour) in the window, newest first.
SELECT
    m.message_ts, m.date, m.hour, m.channel, m.contact_id, m.contact_name, m.conversation_key,
    m.agent_session_id, m.intent, m.message_body
FROM analytics.fct_messages m
WHERE m.tenant_id = :tenant
  AND m.date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR m.channel = CAST(:channel AS text))
  AND m.weekday_num = :weekday_num
  AND m.hour = :hour
  AND m.direction = 'Inbound'
ORDER BY m.message_ts DESC, m.message_id
LIMIT :row_limit
