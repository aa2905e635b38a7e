-- The archived notebook HTML of one step (the path is checked against RUNS_DIR by the caller).
SELECT html_path
FROM ops.pipeline_steps
WHERE tenant_id = :tenant AND run_id = :run_id AND step = :step
