-- Wait until a human picked the conversation up (median, p90), anomalies (negative waits) excluded.
SELECT
    count(*) AS assigned,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY c.wait_seconds) AS wait_p50,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY c.wait_seconds) AS wait_p90,
    avg(c.wait_seconds) AS wait_mean
FROM analytics.fct_conversations AS c
WHERE c.start_date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR c.channel = CAST(:channel AS text))
  AND c.wait_seconds IS NOT NULL
  AND c.wait_seconds >= 0
