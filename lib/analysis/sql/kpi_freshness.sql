-- How fresh the tenant's data are: the newest message and push day in the marts (RLS: the tenant's).
SELECT (SELECT max(message_ts) FROM analytics.fct_messages WHERE tenant_id = :tenant) AS latest_message,
       (SELECT max(date) FROM analytics.mart_daily_kpis WHERE tenant_id = :tenant)   AS last_chat_date,
       (SELECT max(date) FROM analytics.mart_push_daily WHERE tenant_id = :tenant)   AS last_push_date,
       (SELECT min(date) FROM analytics.mart_daily_kpis WHERE tenant_id = :tenant)   AS first_chat_date
