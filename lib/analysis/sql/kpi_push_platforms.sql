-- Push totals of the window by platform (Σ counts; rates computed from the sums).
SELECT platform,
       COALESCE(SUM(sent), 0)      AS sent,
       COALESCE(SUM(delivered), 0) AS delivered,
       COALESCE(SUM(opened), 0)    AS opened,
       COALESCE(SUM(clicks), 0)    AS clicks
FROM analytics.mart_push_daily
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
GROUP BY platform
ORDER BY platform
