-- public.daily_stats, push part (data model step 2) <- dateStats in raw.raw_push_stats.
-- Dates present in the new raw rows (:lo_0, :hi_0] get push_enviados = Σ numDevicesSent over every
-- application and platform, each (application, date, platform) taken from its latest loaded raw row
-- among ALL the tenant's raw rows up to :hi_0, and total_messages = chat_messages (so far) + push.
-- The chat part is filled by the daily_stats_totals post-transform.
WITH batch AS MATERIALIZED (
    SELECT * FROM ops.raw_push_date_stats(:lo_0, :hi_0)
),
dates AS (
    SELECT DISTINCT b.stats_date FROM batch b WHERE b.reason IS NULL
),
latest AS (
    SELECT DISTINCT ON (k.stats_date, k.platform, k.application_id) k.stats_date, k.sent
    FROM ops.raw_push_date_stats(0, :hi_0) k
    JOIN dates d ON d.stats_date = k.stats_date
    WHERE k.reason IS NULL
    ORDER BY k.stats_date, k.platform, k.application_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
push AS (
    SELECT l.stats_date AS date, coalesce(sum(l.sent), 0)::integer AS push_enviados
    FROM latest l GROUP BY l.stats_date
),
up AS (
    INSERT INTO public.daily_stats AS d (tenant_id, date, push_enviados, total_messages)
    SELECT :tenant, p.date, p.push_enviados, coalesce(cur.chat_messages, 0) + p.push_enviados
    FROM push p
    LEFT JOIN public.daily_stats cur ON cur.tenant_id = :tenant AND cur.date = p.date
    ON CONFLICT (tenant_id, date) DO UPDATE SET
        push_enviados = EXCLUDED.push_enviados, total_messages = EXCLUDED.total_messages, updated_at = EXCLUDED.updated_at
    WHERE (d.push_enviados, d.total_messages) IS DISTINCT FROM (EXCLUDED.push_enviados, EXCLUDED.total_messages)
    RETURNING d.date
)
SELECT (SELECT count(*) FROM batch) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM batch WHERE reason IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'reason', k.reason,
                                      'value', k.sample) AS s
            FROM batch k WHERE k.reason IS NOT NULL ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       jsonb_build_object('dates', (SELECT count(*) FROM push)) AS metrics
