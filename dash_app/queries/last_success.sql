-- The tenant's last successful run.
SELECT MAX(finished_at) AS last_success
FROM ops.pipeline_runs
WHERE tenant_id = :tenant AND status = 'success'
