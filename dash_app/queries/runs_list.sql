-- Pipeline runs of the tenant created in the window, newest first, with step counts.
SELECT r.run_id, r.mode, r.status, r.created_at, r.started_at, r.finished_at, r.duration_ms, r.error,
       COUNT(s.id)                                        AS steps,
       COUNT(s.id) FILTER (WHERE s.status = 'success')    AS steps_ok,
       COUNT(s.id) FILTER (WHERE s.status = 'failed')     AS steps_failed,
       COALESCE(SUM(s.rows_out), 0)                       AS rows_out
FROM ops.pipeline_runs r
LEFT JOIN ops.pipeline_steps s ON s.run_id = r.run_id
WHERE r.tenant_id = :tenant
  AND r.created_at >= CAST(:start AS date)
  AND r.created_at < CAST(:end AS date) + 1
GROUP BY r.run_id
ORDER BY r.created_at DESC
LIMIT :row_limit
