-- Flow-event messages of the window: NPS / satisfaction survey answers live in their JSON body.
SELECT
    m.message_id,
    m.message_ts,
    m.date,
    m.contact_id,
    coalesce(m.channel, '(sin canal)') AS channel,
    m.conversation_key,
    m.message_body
FROM analytics.fct_messages AS m
WHERE m.date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR m.channel = CAST(:channel AS text))
  AND m.content_type = 'event'
  AND m.message_body IS NOT NULL
ORDER BY m.message_ts, m.message_id
