-- One run of the tenant.
SELECT run_id, tenant_id, mode, status, created_at, started_at, finished_at, duration_ms, error
FROM ops.pipeline_runs
WHERE tenant_id = :tenant AND run_id = :run_id
