-- Intent occurrences, fallbacks and escalations over the window, by channel.
SELECT
    coalesce(nullif(i.intent, ''), '(sin intent)') AS intent,
    coalesce(i.channel, '(sin canal)') AS channel,
    sum(i.occurrences) AS occurrences,
    sum(i.fallbacks) AS fallbacks,
    sum(i.escalated) AS escalated
FROM analytics.mart_intent_performance AS i
WHERE i.date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR i.channel = CAST(:channel AS text))
GROUP BY 1, 2
ORDER BY 3 DESC
