-- Campaigns active in the window (start..end overlapping it), with their lifetime totals.
SELECT campaign_id, campaign_name, channel, status, start_date, end_date,
       COALESCE(sent, 0) AS sent, COALESCE(delivered, 0) AS delivered,
       COALESCE(opened, 0) AS opened, COALESCE(clicks, 0) AS clicks
FROM analytics.mart_campaign_performance
WHERE tenant_id = :tenant
  AND (start_date IS NULL OR start_date <= CAST(:end AS date))
  AND (COALESCE(end_date, start_date) IS NULL OR COALESCE(end_date, start_date) >= CAST(:start AS date))
ORDER BY campaign_id
