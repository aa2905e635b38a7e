-- The last date with data for the tenant (RLS limits both marts to it).
SELECT greatest(
    (SELECT max(date) FROM analytics.mart_daily_kpis),
    (SELECT max(date) FROM analytics.mart_push_daily)
) AS latest
