-- public.toques_heatmap <- pushHeatmap (/v1/application/{id}/pushHeatmap) data."weekday-hour" in
-- raw.raw_push_stats. ctr = rate x 100 (2 decimals), dia_semana as the API gives it (lowercase English),
-- dia_orden 1 = monday .. 7 = sunday, canal = 'push'. The table holds the CURRENT heatmap: when the
-- batch brings a response, the cells are recomputed from the latest valid response of each
-- application (cells of older windows are deleted) and a cell's ctr is the mean over the applications
-- reporting it (the API gives rates without volumes, so no weighting is possible).
WITH docs AS (
    SELECT r.id AS raw_id, r.loaded_at,
           CASE WHEN jsonb_typeof(r.source_data -> 'data' -> 'weekday-hour') = 'object'
                THEN r.source_data -> 'data' -> 'weekday-hour' END AS grid
    FROM raw.raw_push_stats r
    WHERE r.tenant_id = :tenant
      AND (r.endpoint = '/v1/application/{id}/pushHeatmap' OR r.endpoint LIKE '/v1/application/%/pushHeatmap')
      AND r.id > :lo_0 AND r.id <= :hi_0
),
current_docs AS (  -- the latest valid response per application, when the batch has any response
    SELECT DISTINCT ON (r.application_id) r.id AS raw_id, r.loaded_at, r.source_data -> 'data' -> 'weekday-hour' AS grid
    FROM raw.raw_push_stats r
    WHERE r.tenant_id = :tenant AND EXISTS (SELECT 1 FROM docs)
      AND (r.endpoint = '/v1/application/{id}/pushHeatmap' OR r.endpoint LIKE '/v1/application/%/pushHeatmap')
      AND r.id <= :hi_0 AND jsonb_typeof(r.source_data -> 'data' -> 'weekday-hour') = 'object'
    ORDER BY r.application_id, r.loaded_at DESC, r.id DESC
),
all_docs AS (
    SELECT raw_id, loaded_at, grid, true AS in_batch FROM docs
    UNION ALL
    SELECT raw_id, loaded_at, grid, false FROM current_docs
),
cells AS (
    SELECT d.raw_id, d.loaded_at, d.in_batch, w.key AS weekday, h.key AS hour_s, h.value AS rate_j,
           jsonb_typeof(w.value) AS day_type
    FROM all_docs d
    CROSS JOIN LATERAL jsonb_each(coalesce(d.grid, '{"__no_grid__": null}'::jsonb)) AS w
    LEFT JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(w.value) = 'object' THEN w.value END) AS h ON true
    WHERE NOT (jsonb_typeof(w.value) = 'object' AND h.key IS NULL)  -- an empty weekday: nothing to load
),
checked AS MATERIALIZED (
    SELECT c.raw_id, c.loaded_at, c.in_batch, lower(c.weekday) AS dia_semana, ops.try_int(c.hour_s) AS hora,
           ops.try_numeric(c.rate_j #>> '{}') AS rate, c.weekday, c.hour_s, c.rate_j,
           array_position(ARRAY['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'],
                          lower(c.weekday)) AS dia_orden,
           CASE
               WHEN c.weekday = '__no_grid__' THEN 'response has no weekday-hour object'
               WHEN array_position(ARRAY['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday',
                                         'sunday'], lower(c.weekday)) IS NULL THEN 'unknown weekday'
               WHEN c.day_type IS DISTINCT FROM 'object' THEN 'weekday value is not an object'
               WHEN CASE WHEN c.hour_s ~ '^[0-9]{1,2}$' THEN c.hour_s::int > 23 ELSE true END
                   THEN 'hour outside 0-23'
               WHEN c.rate_j IS NULL OR jsonb_typeof(c.rate_j) = 'null' THEN 'missing rate'
               WHEN ops.try_numeric(c.rate_j #>> '{}') IS NULL THEN 'non-numeric rate'
           END AS reason
    FROM cells c
),
latest AS (
    SELECT k.dia_semana, k.hora, avg(k.rate) AS rate, min(k.dia_orden) AS dia_orden
    FROM checked k
    WHERE k.reason IS NULL AND NOT k.in_batch
    GROUP BY k.dia_semana, k.hora
),
gone AS (  -- cells of an older window that the current responses no longer report
    DELETE FROM public.toques_heatmap t
    WHERE t.tenant_id = :tenant AND t.canal = 'push' AND EXISTS (SELECT 1 FROM current_docs)
      AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.dia_semana = t.dia_semana AND l.hora = t.hora)
    RETURNING 1
),
up AS (
    INSERT INTO public.toques_heatmap AS t (tenant_id, canal, dia_semana, hora, ctr, dia_orden)
    SELECT :tenant, 'push', l.dia_semana, l.hora::smallint, ops.pct(l.rate, 1), l.dia_orden::smallint
    FROM latest l
    ON CONFLICT (tenant_id, canal, dia_semana, hora) DO UPDATE SET
        ctr = EXCLUDED.ctr, dia_orden = EXCLUDED.dia_orden, updated_at = EXCLUDED.updated_at
    WHERE (t.ctr, t.dia_orden) IS DISTINCT FROM (EXCLUDED.ctr, EXCLUDED.dia_orden)
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked WHERE in_batch) AS rows_in,
       (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS rows_out,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL AND in_batch) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'reason', k.reason, 'key', k.weekday || '/' || coalesce(k.hour_s, ''),
                                      'value', left(k.rate_j::text, 100)) AS s
            FROM checked k WHERE k.reason IS NOT NULL AND k.in_batch ORDER BY k.raw_id, k.weekday, k.hour_s LIMIT 5) q)
           AS reject_samples,
       '{}'::jsonb AS metrics
