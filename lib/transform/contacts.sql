-- public.contacts <- /v1/chat/contacts items, from raw.raw_contacts_api (:lo_0, :hi_0) and from
-- raw.raw_chat_stats (:lo_1, :hi_1) when the chat extractor stored them there. One row per contactId:
-- the latest loaded_at wins (then raw_contacts_api over raw_chat_stats, then raw id, then position).
-- An unparseable createdAt/updatedAt is kept as NULL and counted as a reject (the contact is loaded).
-- The totals columns are left to the contacts_totals post-transform; changed contacts are queued for it.
WITH items AS (
    SELECT 2 AS src, r.id AS raw_id, r.loaded_at, e.ord, e.j
    FROM raw.raw_contacts_api r
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
         WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/contacts' AND r.id > :lo_0 AND r.id <= :hi_0
    UNION ALL
    SELECT 1 AS src, r.id, r.loaded_at, e.ord, e.j
    FROM raw.raw_chat_stats r
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
         WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/contacts' AND r.id > :lo_1 AND r.id <= :hi_1
),
checked AS MATERIALIZED (
    SELECT i.src, i.raw_id, i.loaded_at, i.ord, i.j, f.contact_id, p.created_at, p.updated_at,
           CASE
               WHEN i.j = '"__no_list__"'::jsonb THEN 'response has no data list'
               WHEN jsonb_typeof(i.j) <> 'object' THEN 'item is not an object'
               WHEN f.contact_id IS NULL THEN 'missing contactId'
               WHEN length(f.contact_id) > 100 THEN 'contactId longer than 100 characters'
           END AS reason,
           nullif(concat_ws(', ',
               CASE WHEN f.created_s IS NOT NULL AND p.created_at IS NULL THEN 'createdAt' END,
               CASE WHEN f.updated_s IS NOT NULL AND p.updated_at IS NULL THEN 'updatedAt' END), '') AS bad_fields
    FROM items i
    CROSS JOIN LATERAL (
        SELECT ops.raw_text(nullif(i.j ->> 'contactId', '')) AS contact_id,
               ops.raw_text(nullif(i.j ->> 'createdAt', '')) AS created_s,
               ops.raw_text(nullif(i.j ->> 'updatedAt', '')) AS updated_s
    ) f
    CROSS JOIN LATERAL (
        SELECT ops.try_timestamptz(f.created_s) AS created_at, ops.try_timestamptz(f.updated_s) AS updated_at
    ) p
),
latest AS (
    SELECT DISTINCT ON (k.contact_id) k.contact_id, k.created_at, k.updated_at,
           left(ops.raw_text(nullif(k.j ->> 'profileName', '')), 255) AS contact_name,
           left(ops.raw_text(nullif(k.j ->> 'channel', '')), 30) AS channel
    FROM checked k
    WHERE k.reason IS NULL
    ORDER BY k.contact_id, k.loaded_at DESC, k.src DESC, k.raw_id DESC, k.ord DESC
),
up AS (
    INSERT INTO public.contacts AS c (tenant_id, contact_id, contact_name, channel, source_created_at,
                                      source_updated_at)
    SELECT :tenant, l.contact_id, l.contact_name, l.channel, l.created_at, l.updated_at
    FROM latest l
    ON CONFLICT (tenant_id, contact_id) DO UPDATE SET
        contact_name = EXCLUDED.contact_name, channel = EXCLUDED.channel,
        source_created_at = EXCLUDED.source_created_at, source_updated_at = EXCLUDED.source_updated_at,
        updated_at = EXCLUDED.updated_at
    WHERE (c.contact_name, c.channel, c.source_created_at, c.source_updated_at)
      IS DISTINCT FROM (EXCLUDED.contact_name, EXCLUDED.channel, EXCLUDED.source_created_at,
                        EXCLUDED.source_updated_at)
    RETURNING c.contact_id
),
dirty AS (
    INSERT INTO ops.transform_dirty (tenant_id, target, key)
    SELECT :tenant, 'contacts', up.contact_id FROM up
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL OR bad_fields IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_table', CASE k.src WHEN 2 THEN 'raw_contacts_api' ELSE 'raw_chat_stats' END,
                                      'raw_id', k.raw_id, 'row', k.ord, 'key', k.contact_id,
                                      'reason', coalesce(k.reason, 'unparseable ' || k.bad_fields || ' (row kept, set to NULL)'),
                                      'value', left(k.j::text, 300)) AS s
            FROM checked k WHERE k.reason IS NOT NULL OR k.bad_fields IS NOT NULL
            ORDER BY k.src DESC, k.raw_id, k.ord LIMIT 5) q)
           AS reject_samples,
       jsonb_build_object('dirty_keys', (SELECT count(*) FROM dirty)) AS metrics
