-- public.chat_channels <- /v1/chat/channel envelopes (data[]) in raw.raw_chat_stats; the whole item is
-- kept in `config`. One row per channel id (latest loaded_at, then raw id, then position).
WITH items AS (
    SELECT r.id AS raw_id, r.loaded_at, e.ord, e.j,
           ops.raw_text(nullif(coalesce(e.j ->> 'id', e.j ->> 'channelId'), '')) AS channel_id
    FROM raw.raw_chat_stats r
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
         WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/channel'
      AND r.id > :lo_0 AND r.id <= :hi_0
),
checked AS MATERIALIZED (
    SELECT i.*,
           CASE
               WHEN i.j = '"__no_list__"'::jsonb THEN 'response has no data list'
               WHEN jsonb_typeof(i.j) <> 'object' THEN 'item is not an object'
               WHEN i.channel_id IS NULL THEN 'missing channel id'
               WHEN length(i.channel_id) > 100 THEN 'channel id longer than 100 characters'
           END AS reason
    FROM items i
),
latest AS (
    SELECT DISTINCT ON (k.channel_id) k.channel_id, k.j
    FROM checked k
    WHERE k.reason IS NULL
    ORDER BY k.channel_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
up AS (
    INSERT INTO public.chat_channels AS c (tenant_id, channel_id, channel_type, channel_name, phone_number,
                                           status, config)
    SELECT :tenant, l.channel_id,
           left(ops.raw_text(nullif(coalesce(l.j ->> 'type', l.j ->> 'channelType', l.j ->> 'channel'), '')), 30),
           left(ops.raw_text(nullif(coalesce(l.j ->> 'name', l.j ->> 'channelName'), '')), 255),
           left(ops.raw_text(nullif(coalesce(l.j ->> 'phoneNumber', l.j ->> 'phone'), '')), 50),
           left(ops.raw_text(nullif(l.j ->> 'status', '')), 20),
           l.j
    FROM latest l
    ON CONFLICT (tenant_id, channel_id) DO UPDATE SET
        channel_type = EXCLUDED.channel_type, channel_name = EXCLUDED.channel_name,
        phone_number = EXCLUDED.phone_number, status = EXCLUDED.status, config = EXCLUDED.config,
        updated_at = EXCLUDED.updated_at
    WHERE (c.channel_type, c.channel_name, c.phone_number, c.status, c.config)
      IS DISTINCT FROM
          (EXCLUDED.channel_type, EXCLUDED.channel_name, EXCLUDED.phone_number, EXCLUDED.status, EXCLUDED.config)
    RETURNING c.channel_id
)
SELECT (SELECT count(*) FROM checked) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'reason', k.reason,
                                      'key', k.channel_id, 'value', left(k.j::text, 300)) AS s
            FROM checked k WHERE k.reason IS NOT NULL ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       '{}'::jsonb AS metrics
