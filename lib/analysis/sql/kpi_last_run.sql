-- The tenant's last successful pipeline run (ledger; RLS limits it to the tenant).
SELECT max(finished_at) AS last_success
FROM ops.pipeline_runs
WHERE tenant_id = :tenant AND status = 'success'
