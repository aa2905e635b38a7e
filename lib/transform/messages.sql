-- public.messages <- raw.raw_chat_stats history CSV pages (/v1/chat/history/csv). Both raw formats:
-- v1 (source_data->'rows', objects) expanded here; v2 (source_data->'text', the page as sent) parsed
-- by COPY into pg_temp.history_stage beforehand (history_stage.py). Values go through ops.raw_text
-- (escaped bytes -> U+FFFD; v2 text is given that form before COPY).
-- Batch: the tenant's pages with :lo_0 < id <= :hi_0. One row per message_id: the latest loaded_at,
-- then the highest raw id, then the last row of the page. date/hour/day_of_week in the tenant's zone.
-- Rows without messageId, or without a parseable messageDate, are rejected (counted, sampled, left in
-- raw). A row with an untypable field (an agent timestamp, isFallback) is kept with that field NULL and
-- counted as a reject too. Only changed rows are written; their old and new dates / contacts / agents
-- are queued for the post-transforms.
WITH zone AS MATERIALIZED (
    SELECT coalesce((SELECT t.timezone FROM public.tenants t WHERE t.id = :tenant), 'UTC') AS tz
),
src AS (  -- one row per CSV row of the batch, every field as text
    SELECT false AS v2, r.id AS raw_id, r.loaded_at, e.ord,
           CASE WHEN e.j = '"__no_rows__"'::jsonb THEN 'page has no rows list'
                WHEN jsonb_typeof(e.j) <> 'object' THEN 'row is not an object' END AS pre_reason,
           ops.raw_text(nullif(e.j ->> 'messageId', '')) AS message_id,
           ops.raw_text(nullif(e.j ->> 'messageDate', '')) AS message_date,
           ops.raw_text(nullif(e.j ->> 'agentQueuedAt', '')) AS queued_s,
           ops.raw_text(nullif(e.j ->> 'agentAssignedAt', '')) AS assigned_s,
           ops.raw_text(nullif(e.j ->> 'agentClosedAt', '')) AS closed_s,
           ops.raw_text(nullif(e.j ->> 'sendType', '')) AS send_type,
           ops.raw_text(nullif(e.j ->> 'integration', '')) AS integration,
           ops.raw_text(nullif(e.j ->> 'contentType', '')) AS content_type,
           ops.raw_text(nullif(e.j ->> 'status', '')) AS status,
           ops.raw_text(nullif(e.j ->> 'profileName', '')) AS profile_name,
           ops.raw_text(nullif(e.j ->> 'contactId', '')) AS contact_id,
           ops.raw_text(nullif(e.j ->> 'agentConversationId', '')) AS conversation_id,
           ops.raw_text(nullif(e.j ->> 'agentId', '')) AS agent_id,
           ops.raw_text(nullif(e.j ->> 'agentCloseReason', '')) AS close_reason,
           ops.raw_text(nullif(e.j ->> 'dfIntentName', '')) AS intent,
           ops.raw_text(nullif(e.j ->> 'isFallback', '')) AS is_fallback_s,
           ops.raw_text(nullif(e.j ->> 'content', '')) AS content,
           ops.raw_text(nullif(e.j ->> 'channel', '')) AS channel
    FROM raw.raw_chat_stats r
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(r.source_data -> 'rows') = 'array' THEN r.source_data -> 'rows'
             ELSE '["__no_rows__"]'::jsonb END) WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/history/csv'
      AND r.id > :lo_0 AND r.id <= :hi_0
      AND coalesce(r.source_data ->> 'version', '1') <> '2'
    UNION ALL
    SELECT true, s.raw_id, r.loaded_at, s.ord, s.reason,
           nullif(s."messageId", ''), nullif(s."messageDate", ''), nullif(s."agentQueuedAt", ''),
           nullif(s."agentAssignedAt", ''), nullif(s."agentClosedAt", ''), nullif(s."sendType", ''),
           nullif(s."integration", ''), nullif(s."contentType", ''), nullif(s."status", ''),
           nullif(s."profileName", ''), nullif(s."contactId", ''), nullif(s."agentConversationId", ''),
           nullif(s."agentId", ''), nullif(s."agentCloseReason", ''), nullif(s."dfIntentName", ''),
           nullif(s."isFallback", ''), nullif(s."content", ''), nullif(s."channel", '')
    FROM pg_temp.history_stage s
    JOIN raw.raw_chat_stats r ON r.id = s.raw_id
),
typed AS MATERIALIZED (  -- parsed once, with the row's reject reason and its untypable fields
    SELECT x.*,
           CASE
               WHEN x.pre_reason IS NOT NULL THEN x.pre_reason
               WHEN x.message_id IS NULL THEN 'missing messageId'
               WHEN length(x.message_id) > 100 THEN 'messageId longer than 100 characters'
               WHEN x.message_date IS NULL THEN 'missing messageDate'
               WHEN x.ts IS NULL THEN 'unparseable messageDate'
           END AS reason,
           nullif(concat_ws(', ',
               CASE WHEN x.queued_s IS NOT NULL AND x.queued_at IS NULL THEN 'agentQueuedAt' END,
               CASE WHEN x.assigned_s IS NOT NULL AND x.assigned_at IS NULL THEN 'agentAssignedAt' END,
               CASE WHEN x.closed_s IS NOT NULL AND x.closed_at IS NULL THEN 'agentClosedAt' END,
               CASE WHEN x.is_fallback_s IS NOT NULL AND x.is_fallback IS NULL THEN 'isFallback' END), '')
               AS bad_fields
    FROM (
        SELECT f.*,
               ops.try_timestamptz(f.message_date) AS ts,
               ops.try_timestamptz(f.queued_s) AS queued_at,
               ops.try_timestamptz(f.assigned_s) AS assigned_at,
               ops.try_timestamptz(f.closed_s) AS closed_at,
               CASE lower(f.is_fallback_s) WHEN 'yes' THEN true WHEN 'true' THEN true
                                           WHEN 'no' THEN false WHEN 'false' THEN false END AS is_fallback
        FROM src f
        OFFSET 0  -- planner fence: each field is extracted once, not once per reference
    ) x
),
latest AS (
    SELECT DISTINCT ON (k.message_id) k.*
    FROM typed k
    WHERE k.reason IS NULL
    ORDER BY k.message_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
shaped AS (
    SELECT l.message_id, l.ts, loc.lt,
           left(l.send_type, 30) AS send_type,
           l.integration AS integration_full,
           left(l.content_type, 30) AS content_type,
           left(l.status, 20) AS status,
           left(l.profile_name, 255) AS contact_name,
           left(l.contact_id, 100) AS contact_id,
           left(l.conversation_id, 100) AS conversation_id,
           left(l.agent_id, 100) AS agent_id,
           left(l.close_reason, 100) AS close_reason,
           left(l.intent, 200) AS intent,
           l.is_fallback,
           l.content AS message_body,
           left(l.channel, 30) AS channel,
           CASE WHEN l.assigned_at >= l.queued_at
                THEN floor(extract(epoch FROM l.assigned_at - l.queued_at))::integer END AS wait_time_seconds,
           CASE WHEN l.closed_at >= l.assigned_at
                THEN floor(extract(epoch FROM l.closed_at - l.assigned_at))::integer END AS handle_time_seconds
    FROM latest l
    CROSS JOIN zone z
    CROSS JOIN LATERAL (SELECT l.ts AT TIME ZONE z.tz AS lt) loc
    OFFSET 0
),
fresh AS (
    SELECT :tenant AS tenant_id, s.message_id, s.ts, s.lt::date AS date, extract(hour FROM s.lt)::smallint AS hour,
           to_char(s.lt, 'FMDay') AS day_of_week, s.send_type,
           CASE s.send_type
               WHEN 'input' THEN 'Inbound'
               WHEN 'operator' THEN 'Agent'
               WHEN 'dialogflow' THEN 'Bot'
               WHEN 'agent_notification' THEN 'System'
               ELSE CASE WHEN s.integration_full = 'df' THEN 'Bot' ELSE 'Outbound' END
           END AS direction,
           s.content_type, s.status, s.contact_name, s.contact_id, s.conversation_id, s.agent_id,
           s.close_reason, s.intent, s.is_fallback, s.message_body,
           coalesce(s.integration_full = 'df' AND s.send_type IS DISTINCT FROM 'input', false) AS is_bot,
           coalesce(s.send_type = 'operator', false) AS is_human,
           s.wait_time_seconds, s.handle_time_seconds, s.channel, left(s.integration_full, 20) AS integration
    FROM shaped s
    OFFSET 0
),
up AS (
    INSERT INTO public.messages AS m (
        tenant_id, message_id, "timestamp", date, hour, day_of_week, send_type, direction, content_type,
        status, contact_name, contact_id, conversation_id, agent_id, close_reason, intent, is_fallback,
        message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, channel, integration)
    SELECT f.tenant_id, f.message_id, f.ts, f.date, f.hour, f.day_of_week, f.send_type, f.direction,
           f.content_type, f.status, f.contact_name, f.contact_id, f.conversation_id, f.agent_id,
           f.close_reason, f.intent, f.is_fallback, f.message_body, f.is_bot, f.is_human,
           f.wait_time_seconds, f.handle_time_seconds, f.channel, f.integration
    FROM fresh f
    ON CONFLICT (tenant_id, message_id) DO UPDATE SET
        "timestamp" = EXCLUDED."timestamp", date = EXCLUDED.date, hour = EXCLUDED.hour,
        day_of_week = EXCLUDED.day_of_week, send_type = EXCLUDED.send_type, direction = EXCLUDED.direction,
        content_type = EXCLUDED.content_type, status = EXCLUDED.status, contact_name = EXCLUDED.contact_name,
        contact_id = EXCLUDED.contact_id, conversation_id = EXCLUDED.conversation_id,
        agent_id = EXCLUDED.agent_id, close_reason = EXCLUDED.close_reason, intent = EXCLUDED.intent,
        is_fallback = EXCLUDED.is_fallback, message_body = EXCLUDED.message_body, is_bot = EXCLUDED.is_bot,
        is_human = EXCLUDED.is_human, wait_time_seconds = EXCLUDED.wait_time_seconds,
        handle_time_seconds = EXCLUDED.handle_time_seconds, channel = EXCLUDED.channel,
        integration = EXCLUDED.integration, updated_at = EXCLUDED.updated_at
    WHERE (m."timestamp", m.date, m.hour, m.day_of_week, m.send_type, m.direction, m.content_type, m.status,
           m.contact_name, m.contact_id, m.conversation_id, m.agent_id, m.close_reason, m.intent,
           m.is_fallback, m.message_body, m.is_bot, m.is_human, m.wait_time_seconds,
           m.handle_time_seconds, m.channel, m.integration)
      IS DISTINCT FROM
          (EXCLUDED."timestamp", EXCLUDED.date, EXCLUDED.hour, EXCLUDED.day_of_week, EXCLUDED.send_type,
           EXCLUDED.direction, EXCLUDED.content_type, EXCLUDED.status, EXCLUDED.contact_name,
           EXCLUDED.contact_id, EXCLUDED.conversation_id, EXCLUDED.agent_id, EXCLUDED.close_reason,
           EXCLUDED.intent, EXCLUDED.is_fallback, EXCLUDED.message_body, EXCLUDED.is_bot, EXCLUDED.is_human,
           EXCLUDED.wait_time_seconds, EXCLUDED.handle_time_seconds, EXCLUDED.channel, EXCLUDED.integration)
    RETURNING m.message_id, m.date, m.contact_id, m.agent_id
),
before AS (  -- the same statement's snapshot: the pre-update version of the rows just updated
    SELECT o.date, o.contact_id, o.agent_id
    FROM public.messages o
    JOIN up ON up.message_id = o.message_id
    WHERE o.tenant_id = :tenant
),
dirty AS (
    INSERT INTO ops.transform_dirty (tenant_id, target, key)
    SELECT DISTINCT :tenant, v.target, v.key
    FROM (SELECT date, contact_id, agent_id FROM up UNION ALL SELECT date, contact_id, agent_id FROM before) c
    CROSS JOIN LATERAL (VALUES ('daily_stats', c.date::text), ('contacts', c.contact_id),
                               ('agents', c.agent_id)) AS v (target, key)
    WHERE v.key IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
),
rejected AS MATERIALIZED (  -- the first few rejects, sampled with their value as sent
    SELECT k.raw_id, k.ord, k.message_id, k.reason, k.bad_fields, k.v2, k.pre_reason
    FROM typed k WHERE k.reason IS NOT NULL OR k.bad_fields IS NOT NULL
    ORDER BY k.raw_id, k.ord LIMIT 5
),
-- joins, not correlated subqueries: Citus runs neither a correlated subquery over a CTE nor one
-- joining the (coordinator-local) stage with a distributed table
sample_v1 AS (
    SELECT k.raw_id, k.ord, (r.source_data -> 'rows' -> (k.ord - 1)::int)::text AS value
    FROM rejected k JOIN raw.raw_chat_stats r ON r.id = k.raw_id AND r.tenant_id = :tenant
    WHERE NOT k.v2
),
sample_v2 AS (
    SELECT k.raw_id, k.ord, coalesce(s.record, (to_jsonb(s) - 'raw_id' - 'ord' - 'reason' - 'record')::text) AS value
    FROM rejected k JOIN pg_temp.history_stage s ON s.ord = k.ord
    WHERE k.v2
)
SELECT (SELECT count(*) FROM typed) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM before) AS updated,
       (SELECT count(*) FROM typed WHERE reason IS NOT NULL OR bad_fields IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'raw_id', k.raw_id, 'row', k.ord, 'key', k.message_id,
                    'reason', coalesce(k.reason, 'unparseable ' || k.bad_fields || ' (row kept, set to NULL)'),
                    'value', left(CASE WHEN k.v2 THEN v.value ELSE coalesce(v.value, k.pre_reason) END, 300))
                ORDER BY k.raw_id, k.ord), '[]'::jsonb)
        FROM rejected k LEFT JOIN (SELECT * FROM sample_v1 UNION ALL SELECT * FROM sample_v2) v
             ON v.raw_id = k.raw_id AND v.ord = k.ord) AS reject_samples,
       jsonb_build_object('dirty_keys', (SELECT count(*) FROM dirty),
                          'kept_with_null_fields', (SELECT count(*) FROM typed
                                                    WHERE reason IS NULL AND bad_fields IS NOT NULL)) AS metrics
