-- public.campaigns <- /v1/campaign items in raw.raw_campaigns_api. Field names read defensively:
-- id|campaignId, name|title, channel|type, status, sendDate|createdAt (start), endDate, and the counters
-- under stats (sent|numSent|numDevicesSent, delivered|success|numDevicesSuccess,
-- clicked|clicks|numDevicesClicked, opened|received|numDevicesReceived) or at the top level.
-- fecha_inicio / fecha_fin are tenant-local dates; a draft has no start (fecha_inicio NULL: it was
-- created, never sent); ctr = clicks / enviados in percent (NULL on 0 sent). An unparseable date or a
-- non-numeric counter is kept as NULL and counted as a reject (the campaign is loaded).
WITH zone AS MATERIALIZED (
    SELECT coalesce((SELECT t.timezone FROM public.tenants t WHERE t.id = :tenant), 'UTC') AS tz
),
items AS (
    SELECT r.id AS raw_id, r.loaded_at, e.ord, e.j, r.application_id AS raw_app, r.request_params
    FROM raw.raw_campaigns_api r
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
         WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/campaign' AND r.id > :lo_0 AND r.id <= :hi_0
),
fields AS (
    SELECT i.raw_id, i.loaded_at, i.ord, i.j,
           CASE WHEN jsonb_typeof(i.j) = 'object'
                THEN ops.raw_text(nullif(coalesce(i.j ->> 'id', i.j ->> 'campaignId'), '')) END AS campana_id,
           CASE WHEN jsonb_typeof(i.j) = 'object' THEN
                coalesce(nullif(i.raw_app, ''), nullif(i.j ->> 'applicationId', ''),
                         nullif(i.request_params ->> 'applicationId', '')) END AS application_id,
           CASE WHEN lower(i.j ->> 'status') <> 'draft' OR i.j ->> 'status' IS NULL
                THEN nullif(coalesce(i.j ->> 'sendDate', i.j ->> 'createdAt'), '') END AS start_s,
           nullif(i.j ->> 'endDate', '') AS end_s,
           coalesce(i.j -> 'stats' ->> 'sent', i.j -> 'stats' ->> 'numSent', i.j -> 'stats' ->> 'numDevicesSent',
                    i.j ->> 'sent', i.j ->> 'totalSent') AS sent_s,
           coalesce(i.j -> 'stats' ->> 'delivered', i.j -> 'stats' ->> 'success',
                    i.j -> 'stats' ->> 'numDevicesSuccess', i.j ->> 'delivered') AS delivered_s,
           coalesce(i.j -> 'stats' ->> 'clicked', i.j -> 'stats' ->> 'clicks',
                    i.j -> 'stats' ->> 'numDevicesClicked', i.j ->> 'clicked', i.j ->> 'clicks') AS clicked_s,
           coalesce(i.j -> 'stats' ->> 'opened', i.j -> 'stats' ->> 'received',
                    i.j -> 'stats' ->> 'numDevicesReceived', i.j ->> 'opened') AS opened_s
    FROM items i
),
checked AS MATERIALIZED (
    SELECT f.*, p.*,
           CASE
               WHEN f.j = '"__no_list__"'::jsonb THEN 'response has no data list'
               WHEN jsonb_typeof(f.j) <> 'object' THEN 'item is not an object'
               WHEN f.campana_id IS NULL THEN 'missing campaign id'
               WHEN length(f.campana_id) > 100 THEN 'campaign id longer than 100 characters'
           END AS reason,
           nullif(concat_ws(', ',
               CASE WHEN f.start_s IS NOT NULL AND p.start_at IS NULL THEN 'start date' END,
               CASE WHEN f.end_s IS NOT NULL AND p.end_at IS NULL THEN 'endDate' END,
               CASE WHEN f.sent_s IS NOT NULL AND p.sent IS NULL THEN 'sent' END,
               CASE WHEN f.delivered_s IS NOT NULL AND p.delivered IS NULL THEN 'delivered' END,
               CASE WHEN f.clicked_s IS NOT NULL AND p.clicked IS NULL THEN 'clicked' END,
               CASE WHEN f.opened_s IS NOT NULL AND p.opened IS NULL THEN 'opened' END), '') AS bad_fields
    FROM fields f
    CROSS JOIN LATERAL (
        SELECT ops.try_timestamptz(f.start_s) AS start_at, ops.try_timestamptz(f.end_s) AS end_at,
               ops.try_int(f.sent_s) AS sent, ops.try_int(f.delivered_s) AS delivered,
               ops.try_int(f.clicked_s) AS clicked, ops.try_int(f.opened_s) AS opened
    ) p
),
latest AS (
    SELECT DISTINCT ON (k.campana_id) k.*
    FROM checked k
    WHERE k.reason IS NULL
    ORDER BY k.campana_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
up AS (
    INSERT INTO public.campaigns AS c (tenant_id, campana_id, campana_nombre, canal, tipo_campana,
                                       total_enviados, total_entregados, total_clicks, fecha_inicio, fecha_fin,
                                       ctr, application_id, total_abiertos)
    SELECT :tenant, l.campana_id,
           left(ops.raw_text(nullif(coalesce(l.j ->> 'name', l.j ->> 'title'), '')), 255),
           left(ops.raw_text(nullif(lower(coalesce(l.j ->> 'channel', l.j ->> 'type')), '')), 30),
           left(ops.raw_text(nullif(l.j ->> 'status', '')), 50),
           l.sent, l.delivered, l.clicked,
           (l.start_at AT TIME ZONE z.tz)::date, (l.end_at AT TIME ZONE z.tz)::date,
           ops.pct(l.clicked, l.sent), left(l.application_id, 100), l.opened
    FROM latest l CROSS JOIN zone z
    ON CONFLICT (tenant_id, campana_id) DO UPDATE SET
        campana_nombre = EXCLUDED.campana_nombre, canal = EXCLUDED.canal, tipo_campana = EXCLUDED.tipo_campana,
        total_enviados = EXCLUDED.total_enviados, total_entregados = EXCLUDED.total_entregados,
        total_clicks = EXCLUDED.total_clicks, fecha_inicio = EXCLUDED.fecha_inicio,
        fecha_fin = EXCLUDED.fecha_fin, ctr = EXCLUDED.ctr, application_id = EXCLUDED.application_id,
        total_abiertos = EXCLUDED.total_abiertos, updated_at = EXCLUDED.updated_at
    WHERE (c.campana_nombre, c.canal, c.tipo_campana, c.total_enviados, c.total_entregados, c.total_clicks,
           c.fecha_inicio, c.fecha_fin, c.ctr, c.application_id, c.total_abiertos)
      IS DISTINCT FROM
          (EXCLUDED.campana_nombre, EXCLUDED.canal, EXCLUDED.tipo_campana, EXCLUDED.total_enviados,
           EXCLUDED.total_entregados, EXCLUDED.total_clicks, EXCLUDED.fecha_inicio, EXCLUDED.fecha_fin,
           EXCLUDED.ctr, EXCLUDED.application_id, EXCLUDED.total_abiertos)
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL OR bad_fields IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'key', k.campana_id,
                                      'reason', coalesce(k.reason, 'unparseable ' || k.bad_fields || ' (row kept, set to NULL)'),
                                      'value', left(k.j::text, 300)) AS s
            FROM checked k WHERE k.reason IS NOT NULL OR k.bad_fields IS NOT NULL
            ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       '{}'::jsonb AS metrics
