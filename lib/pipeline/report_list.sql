-- The tenant's weekly reports (lib.pipeline.ledger.list_reports; :run_id NULL = all): successful report_weekly steps with their week and archived files.
SELECT s.run_id, s.finished_at AS created_at, s.html_path AS notebook_html,
       s.metrics -> 'result' ->> 'week'      AS week,
       s.metrics -> 'result' ->> 'date_from' AS date_from,
       s.metrics -> 'result' ->> 'date_to'   AS date_to,
       s.metrics -> 'result' ->> 'email'     AS email,
       s.metrics -> 'result' -> 'emailed_to' AS emailed_to,
       s.metrics -> 'artifacts'              AS artifacts
FROM ops.pipeline_steps s
WHERE s.tenant_id = :tenant AND s.step = 'report_weekly' AND s.status = 'success'
  AND (CAST(:run_id AS text) IS NULL OR s.run_id = CAST(:run_id AS text))
ORDER BY s.finished_at DESC NULLS LAST
LIMIT :row_limit
