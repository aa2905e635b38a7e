-- Citus cannot run a SQL set-returning function that reads a distributed table: PostgreSQL inlines
-- it into the calling statement only after Citus planned that statement ("parameterized queries for
-- SQL functions referencing distributed tables are not supported"). ops.raw_push_date_stats (011) is
-- therefore a PL/pgSQL function from here on, on every server (one code path, the same rows): the same
-- query, run by RETURN QUERY with the tenant as a parameter, so on Citus it is routed to the tenant's
-- shard (RLS still applies: invoker's rights).
CREATE OR REPLACE FUNCTION ops.raw_push_date_stats(lo bigint, hi bigint)
RETURNS TABLE (raw_id integer, loaded_at timestamptz, ord bigint, application_id text, stats_date date,
               platform text, sent bigint, success bigint, received bigint, clicked bigint,
               reason text, sample text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    tenant text := current_setting('app.tenant_id', true);
BEGIN
    RETURN QUERY
        SELECT i.raw_id, i.loaded_at, min(i.ord), i.application_id, i.stats_date, i.platform,
               sum(i.sent), sum(i.success), sum(i.received), sum(i.clicked), i.reason, min(i.sample)
        FROM (
            SELECT r.id AS raw_id, r.loaded_at, e.ord,
                   ops.raw_application_id(r.application_id, r.request_params, r.endpoint) AS application_id,
                   ops.try_date(e.j ->> 'statsDate') AS stats_date,
                   left(nullif(lower(e.j ->> 'platformGroup'), ''), 30) AS platform,
                   ops.try_int(e.j ->> 'numDevicesSent') AS sent,
                   ops.try_int(e.j ->> 'numDevicesSuccess') AS success,
                   ops.try_int(e.j ->> 'numDevicesReceived') AS received,
                   ops.try_int(e.j ->> 'numDevicesClicked') AS clicked,
                   CASE
                       WHEN e.j = '"__no_list__"'::jsonb THEN 'response has no data list'
                       WHEN jsonb_typeof(e.j) IS DISTINCT FROM 'object' THEN 'item is not an object'
                       WHEN ops.raw_application_id(r.application_id, r.request_params, r.endpoint) IS NULL
                           THEN 'missing application id'
                       WHEN nullif(e.j ->> 'platformGroup', '') IS NULL THEN 'missing platformGroup'
                       WHEN ops.try_date(e.j ->> 'statsDate') IS NULL THEN 'missing or unparseable statsDate'
                       WHEN (e.j ->> 'numDevicesSent' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesSent') IS NULL)
                         OR (e.j ->> 'numDevicesSuccess' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesSuccess') IS NULL)
                         OR (e.j ->> 'numDevicesReceived' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesReceived') IS NULL)
                         OR (e.j ->> 'numDevicesClicked' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesClicked') IS NULL)
                           THEN 'non-numeric counter'
                   END AS reason,
                   left(e.j::text, 300) AS sample
            FROM raw.raw_push_stats r
            CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
                 WITH ORDINALITY AS e (j, ord)
            WHERE r.id > lo AND r.id <= hi
              AND (r.endpoint = '/v1/application/{id}/dateStats' OR r.endpoint LIKE '/v1/application/%/dateStats')
              AND r.tenant_id = tenant
        ) i
        GROUP BY i.raw_id, i.loaded_at, i.application_id, i.stats_date, i.platform, i.reason,
                 CASE WHEN i.reason IS NOT NULL THEN i.ord END  -- every reject counts on its own
    ;
END
$$;
