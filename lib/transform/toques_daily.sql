-- public.toques_daily <- dateStats (/v1/application/{id}/dateStats) in raw.raw_push_stats, read by
-- ops.raw_push_date_stats (typed, hourly rows summed, reject reason). One row per (date, platform,
-- application): the latest loaded_at, then the highest raw id. Rates in percent with 2 decimals, NULL
-- on a 0 denominator. Changed dates are queued for daily_stats_totals.
WITH checked AS MATERIALIZED (
    SELECT * FROM ops.raw_push_date_stats(:lo_0, :hi_0)
),
latest AS (
    SELECT DISTINCT ON (k.stats_date, k.platform, k.application_id) k.*
    FROM checked k
    WHERE k.reason IS NULL
    ORDER BY k.stats_date, k.platform, k.application_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
up AS (
    INSERT INTO public.toques_daily AS t (tenant_id, date, canal, proyecto_cuenta, enviados, entregados,
                                          clicks, abiertos, ctr, tasa_entrega, open_rate)
    SELECT :tenant, l.stats_date, l.platform, left(l.application_id, 100), l.sent, l.success, l.clicked,
           l.received, ops.pct(l.clicked, l.sent), ops.pct(l.success, l.sent), ops.pct(l.received, l.success)
    FROM latest l
    ON CONFLICT (tenant_id, date, canal, proyecto_cuenta) DO UPDATE SET
        enviados = EXCLUDED.enviados, entregados = EXCLUDED.entregados, clicks = EXCLUDED.clicks,
        abiertos = EXCLUDED.abiertos, ctr = EXCLUDED.ctr, tasa_entrega = EXCLUDED.tasa_entrega,
        open_rate = EXCLUDED.open_rate, updated_at = EXCLUDED.updated_at
    WHERE (t.enviados, t.entregados, t.clicks, t.abiertos, t.ctr, t.tasa_entrega, t.open_rate)
      IS DISTINCT FROM (EXCLUDED.enviados, EXCLUDED.entregados, EXCLUDED.clicks, EXCLUDED.abiertos,
                        EXCLUDED.ctr, EXCLUDED.tasa_entrega, EXCLUDED.open_rate)
    RETURNING t.date
),
dirty AS (
    INSERT INTO ops.transform_dirty (tenant_id, target, key)
    SELECT DISTINCT :tenant, 'daily_stats', up.date::text FROM up
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'reason', k.reason,
                                      'value', k.sample) AS s
            FROM checked k WHERE k.reason IS NOT NULL ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       jsonb_build_object('dirty_keys', (SELECT count(*) FROM dirty)) AS metrics
