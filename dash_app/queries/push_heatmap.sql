-- Push CTR by weekday (1 = Monday) × hour, all platforms (as reported by the API's pushHeatmap).
SELECT canal, weekday_num, hour, ctr
FROM analytics.mart_push_heatmap
WHERE tenant_id = :tenant
ORDER BY canal, weekday_num, hour
