-- Per agent over the window (and channel): messages, sessions, distinct contacts, median wait and handle,
-- transfers, active days (days with a message or a session). Distinct contacts are counted from a
-- DISTINCT subquery (hashing) rather than count(DISTINCT) (sorting).
WITH s AS (
    SELECT agent_id,
           MAX(agent_email)                                                        AS agent_email,
           COUNT(*)                                                                AS sessions,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_seconds)
               FILTER (WHERE is_assigned)                                          AS median_wait_s,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY handle_seconds)             AS median_handle_s,
           COUNT(*) FILTER (WHERE is_transfer)                                     AS transfers
    FROM analytics.fct_agent_sessions
    WHERE tenant_id = :tenant
      AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
      AND agent_id IS NOT NULL
    GROUP BY agent_id
), c AS (
    SELECT agent_id, COUNT(*) AS contacts
    FROM (
        SELECT DISTINCT agent_id, contact_id
        FROM analytics.fct_agent_sessions
        WHERE tenant_id = :tenant
          AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
          AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
          AND agent_id IS NOT NULL AND contact_id IS NOT NULL
    ) d
    GROUP BY agent_id
), m AS (
    -- All channels: the daily mart. One channel: the mart has no channel, so count that channel's
    -- agent messages and sessions per day from the facts (only one branch runs: the :channel test is
    -- a one-time filter).
    SELECT agent_id,
           MAX(agent_email)                                                   AS agent_email,
           SUM(messages)                                                      AS messages,
           COUNT(DISTINCT date) FILTER (WHERE messages > 0 OR sessions > 0)  AS active_days
    FROM (
        SELECT agent_id, agent_email, date, messages, sessions
        FROM analytics.mart_agent_performance
        WHERE CAST(:channel AS text) = 'all'
          AND tenant_id = :tenant
          AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
          AND agent_id IS NOT NULL
        UNION ALL
        SELECT agent_id, NULL, date, COUNT(*), 0
        FROM analytics.fct_messages
        WHERE CAST(:channel AS text) <> 'all' AND channel = CAST(:channel AS text)
          AND tenant_id = :tenant
          AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
          AND is_human AND agent_id IS NOT NULL
        GROUP BY agent_id, date
        UNION ALL
        SELECT agent_id, MAX(agent_email), date, 0, COUNT(*)
        FROM analytics.fct_agent_sessions
        WHERE CAST(:channel AS text) <> 'all' AND channel = CAST(:channel AS text)
          AND tenant_id = :tenant
          AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
          AND agent_id IS NOT NULL
        GROUP BY agent_id, date
    ) per_day
    GROUP BY agent_id
)
SELECT COALESCE(s.agent_id, m.agent_id)          AS agent_id,
       COALESCE(s.agent_email, m.agent_email)    AS agent_email,
       COALESCE(m.messages, 0)                   AS messages,
       COALESCE(s.sessions, 0)                   AS sessions,
       COALESCE(c.contacts, 0)                   AS contacts,
       s.median_wait_s,
       s.median_handle_s,
       COALESCE(s.transfers, 0)                  AS transfers,
       COALESCE(m.active_days, 0)                AS active_days
FROM s
LEFT JOIN c ON c.agent_id = s.agent_id
FULL OUTER JOIN m ON m.agent_id = s.agent_id
ORDER BY COALESCE(s.sessions, 0) DESC, COALESCE(m.messages, 0) DESC, 1
