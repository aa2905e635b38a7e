-- Steps of one run (tenant-scoped by RLS and by the filter).
SELECT seq, step, kind, status, started_at, finished_at, duration_ms, rows_in, rows_out, rejects,
       error_name, error_message, error_cell, notebook_path, html_path, reason
FROM ops.pipeline_steps
WHERE tenant_id = :tenant AND run_id = :run_id
ORDER BY seq, step
