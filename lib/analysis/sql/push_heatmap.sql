-- Click rate by weekday × hour as reported by the pushHeatmap endpoint (not date-filtered upstream).
SELECT
    coalesce(h.canal, 'general') AS canal,
    h.weekday,
    h.weekday_num,
    h.hour,
    h.ctr
FROM analytics.mart_push_heatmap AS h
ORDER BY 1, 3, 4
