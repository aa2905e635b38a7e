-- Push per day and platform over the window.
SELECT date, platform,
       SUM(sent) AS sent, SUM(delivered) AS delivered, SUM(opened) AS opened, SUM(clicks) AS clicks
FROM analytics.mart_push_daily
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
GROUP BY date, platform
ORDER BY date, platform
