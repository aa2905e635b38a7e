-- The last successful call of a cursor endpoint made without the cursor, i.e. a read from the first
-- item (a sweep), per application. Raw rows are successes only; their request_params are as sent.
SELECT application_id, max(loaded_at) AS swept_at
FROM raw.{table}
WHERE endpoint = :endpoint
  AND NOT (coalesce(request_params, '{}'::jsonb) ? :param)
GROUP BY application_id
