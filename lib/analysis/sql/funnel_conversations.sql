-- Conversations of the window (by start date, tenant time) grouped by channel, first meaningful intent
-- (welcome and fallback skipped) and outcome.
SELECT
    c.start_date AS date,
    coalesce(c.channel, '(sin canal)') AS channel,
    coalesce(nullif(c.first_meaningful_intent, ''), '(sin intent)') AS first_intent,
    CASE
        WHEN coalesce(c.transfers, 0) > 0 THEN 'Transferida'
        WHEN coalesce(c.agent_sessions, 0) > 0 AND c.assigned_at IS NULL THEN 'Abandonada en cola'
        WHEN coalesce(c.agent_sessions, 0) > 0 THEN 'Atendida por asesor'
        WHEN c.has_bot THEN 'Contenida por el bot'
        ELSE 'Sin bot ni asesor'
    END AS outcome,
    count(*) AS conversations,
    count(*) FILTER (WHERE c.has_bot) AS bot_conversations,
    count(*) FILTER (WHERE c.is_escalated) AS escalated,
    count(*) FILTER (WHERE c.is_contained) AS contained,
    count(*) FILTER (WHERE coalesce(c.agent_sessions, 0) > 0) AS reached_queue,
    count(*) FILTER (WHERE c.assigned_at IS NOT NULL) AS assigned,
    count(*) FILTER (WHERE c.has_human) AS human_answered,
    count(*) FILTER (WHERE c.had_fallback) AS with_fallback
FROM analytics.fct_conversations AS c
WHERE c.start_date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR c.channel = CAST(:channel AS text))
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
