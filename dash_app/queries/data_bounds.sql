-- First and last day with chat data for the tenant (shown as "datos hasta").
SELECT MIN(date) AS first_date, MAX(date) AS last_date
FROM analytics.mart_daily_kpis
WHERE tenant_id = :tenant
