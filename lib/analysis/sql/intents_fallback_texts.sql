-- What contacts wrote when the bot fell back (the texts a new intent could cover).
SELECT
    lower(btrim(m.message_body)) AS text,
    count(*) AS fallbacks,
    count(DISTINCT m.contact_id) AS contacts,
    max(m.date) AS last_seen
FROM analytics.fct_messages AS m
WHERE m.date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR m.channel = CAST(:channel AS text))
  AND m.is_fallback
  AND m.direction = 'Inbound'
  AND m.message_body IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 25
