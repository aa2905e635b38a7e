-- Intents of the window: occurrences, fallbacks and escalations (Σ over the daily intent mart).
SELECT intent,
       SUM(occurrences) AS occurrences,
       SUM(fallbacks)   AS fallbacks,
       SUM(escalated)   AS escalated
FROM analytics.mart_intent_performance
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
  AND intent IS NOT NULL
GROUP BY intent
ORDER BY SUM(occurrences) DESC, intent
LIMIT :row_limit
