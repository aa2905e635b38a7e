-- The latest stored response of each request of a batch (same tenant, endpoint, application and
-- request params, so the same window and page). A new response equal to it (same SHA-256) is not
-- stored again. Only the latest counts: a response that changed back is stored, so the latest
-- loaded_at still holds the current data.
SELECT k.i, r.id, r.response_sha256
FROM unnest(%(endpoints)s::text[], %(params)s::jsonb[], %(apps)s::text[]) WITH ORDINALITY AS k (endpoint, params, app, i)
CROSS JOIN LATERAL (
    SELECT t.id, t.response_sha256
    FROM raw.{table} t
    WHERE t.tenant_id = %(tenant)s AND t.endpoint = k.endpoint AND t.request_params = k.params
      AND t.application_id IS NOT DISTINCT FROM k.app
    ORDER BY t.id DESC
    LIMIT 1
) r
