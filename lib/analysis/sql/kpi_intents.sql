-- Top intents of the window: conversations by their first meaningful intent (the welcome and the
-- fallback skipped: they open or interrupt nearly every conversation), how many escalated, and the
-- total over ALL intents (the Pareto's share is over every intent, not over the rows shown).
WITH c AS (
    SELECT first_meaningful_intent AS intent,
           COUNT(*) AS occurrences,
           COUNT(*) FILTER (WHERE is_escalated) AS escalated,
           COUNT(*) FILTER (WHERE had_fallback) AS fallbacks
    FROM analytics.fct_conversations
    WHERE tenant_id = :tenant
      AND start_date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
      AND first_meaningful_intent IS NOT NULL
    GROUP BY 1
)
SELECT intent, occurrences, escalated, fallbacks, SUM(occurrences) OVER () AS total_all
FROM c
ORDER BY occurrences DESC, intent
LIMIT :row_limit
