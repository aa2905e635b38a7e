-- Where one step's archived notebook is (a legacy .html, else the notebook it is rendered from), and
-- whether retention moved or pruned the run's archive. Paths are checked by the caller.
SELECT s.html_path, s.notebook_path, r.archive_state
FROM ops.pipeline_steps s
JOIN ops.pipeline_runs r ON r.run_id = s.run_id
WHERE s.tenant_id = :tenant AND s.run_id = :run_id AND s.step = :step
