-- Inbound messages by tenant-local weekday (1 = Monday) × hour over the window.
SELECT weekday_num, hour, SUM(inbound_messages) AS inbound_messages, SUM(messages) AS messages
FROM analytics.mart_volume_heatmap
WHERE tenant_id = :tenant
  AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
  AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
GROUP BY weekday_num, hour
ORDER BY weekday_num, hour
