-- Per day of the window: messages by direction and the numerators/denominators of the daily rates.
SELECT
    date,
    SUM(messages)                AS messages,
    SUM(inbound_messages)        AS inbound_messages,
    SUM(bot_messages)            AS bot_messages,
    SUM(agent_messages)          AS agent_messages,
    SUM(system_messages)         AS system_messages,
    SUM(outbound_messages)       AS outbound_messages,
    SUM(conversations)           AS conversations,
    SUM(fallback_count)          AS fallback_count,
    SUM(bot_answered_inbound)    AS bot_answered_inbound,
    SUM(bot_conversations)       AS bot_conversations,
    SUM(contained_conversations) AS contained_conversations,
    SUM(escalated_conversations) AS escalated_conversations
FROM analytics.mart_daily_kpis
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
GROUP BY date
ORDER BY date
