-- "Intents con más fallback": inbound fallbacks by the last meaningful intent recognised before them
-- in the conversation (mart_fallback_context), over the window and channel.
SELECT context_intent AS intent, SUM(fallbacks) AS fallbacks, SUM(conversations) AS conversations
FROM analytics.mart_fallback_context
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT :row_limit
