-- Agent-session times and rates over the window (sessions by tenant-local queue date), one row.
-- Times: median and p90 (one percentile_cont sort per column) and the mean over non-NULL values (the
-- marts set a time to NULL when its end precedes its start). Service level and abandonment use the
-- marts' flags (T per tenant: fct_agent_sessions.service_level_seconds):
--   service level = count(is_within_service_level) ÷ count(counts_for_service_level)
--   abandonment   = count(is_abandoned) ÷ count(is_queued)       transfers = count(is_transfer) ÷ count(*)
WITH s AS (
    SELECT *
    FROM analytics.fct_agent_sessions
    WHERE tenant_id = :tenant
      AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
)
SELECT
    COUNT(*)                                                             AS sessions,
    COUNT(*) FILTER (WHERE is_queued)                                    AS queued,
    COUNT(*) FILTER (WHERE is_assigned)                                  AS assigned,
    COUNT(*) FILTER (WHERE is_abandoned)                                 AS abandoned,
    COUNT(*) FILTER (WHERE is_abandoned_within_5s)                       AS abandoned_5s,
    COUNT(*) FILTER (WHERE is_within_service_level)                      AS within_sl,
    COUNT(*) FILTER (WHERE counts_for_service_level)                     AS sl_base,
    MAX(service_level_seconds)                                           AS sl_threshold,
    COUNT(*) FILTER (WHERE is_transfer)                                  AS transfers,
    COUNT(DISTINCT agent_id) FILTER (WHERE is_assigned)                  AS agents,
    -- assigned sessions by wait bucket: <1, 1–5, 5–15, 15–30, 30+ min
    COUNT(*) FILTER (WHERE is_assigned AND wait_seconds < 60)            AS wait_b1,
    COUNT(*) FILTER (WHERE is_assigned AND wait_seconds >= 60 AND wait_seconds < 300)   AS wait_b2,
    COUNT(*) FILTER (WHERE is_assigned AND wait_seconds >= 300 AND wait_seconds < 900)  AS wait_b3,
    COUNT(*) FILTER (WHERE is_assigned AND wait_seconds >= 900 AND wait_seconds < 1800) AS wait_b4,
    COUNT(*) FILTER (WHERE is_assigned AND wait_seconds >= 1800)         AS wait_b5,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY wait_seconds)
        FILTER (WHERE is_assigned)                                       AS wait_pct,
    AVG(wait_seconds) FILTER (WHERE is_assigned)                         AS wait_avg,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY handle_seconds) AS handle_pct,
    AVG(handle_seconds)                                                  AS handle_avg,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY first_response_seconds)
                                                                         AS first_response_pct,
    AVG(first_response_seconds)                                          AS first_response_avg
FROM s
