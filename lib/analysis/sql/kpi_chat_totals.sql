-- Σ over the window (and channel) of the daily chat mart, one row; lib.analysis.kpis derives the rates.
SELECT
    COALESCE(SUM(messages), 0)                 AS messages,
    COALESCE(SUM(inbound_messages), 0)         AS inbound_messages,
    COALESCE(SUM(bot_messages), 0)             AS bot_messages,
    COALESCE(SUM(agent_messages), 0)           AS agent_messages,
    COALESCE(SUM(system_messages), 0)          AS system_messages,
    COALESCE(SUM(outbound_messages), 0)        AS outbound_messages,
    COALESCE(SUM(conversations), 0)            AS conversations,
    COALESCE(SUM(agent_conversations), 0)      AS agent_conversations,
    COALESCE(SUM(fallback_count), 0)           AS fallback_count,
    COALESCE(SUM(bot_answered_inbound), 0)     AS bot_answered_inbound,
    COALESCE(SUM(bot_conversations), 0)        AS bot_conversations,
    COALESCE(SUM(contained_conversations), 0)  AS contained_conversations,
    COALESCE(SUM(escalated_conversations), 0)  AS escalated_conversations,
    COALESCE(SUM(queued_conversations), 0)     AS queued_conversations,
    COALESCE(SUM(sent_outbound), 0)            AS sent_outbound,
    COALESCE(SUM(delivered_outbound), 0)       AS delivered_outbound,
    COALESCE(SUM(read_outbound), 0)            AS read_outbound
FROM analytics.mart_daily_kpis
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
