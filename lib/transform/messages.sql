-- public.messages <- raw.raw_chat_stats history CSV pages (/v1/chat/history/csv, source_data->'rows').
-- Batch: the tenant's pages with :lo_0 < id <= :hi_0. One row per message_id: the latest loaded_at,
-- then the highest raw id, then the last row of the page. date/hour/day_of_week in the tenant's zone.
-- Rows without messageId, without a parseable messageDate, or with an unparseable agent timestamp are
-- rejected (counted, sampled, left in raw). Only changed rows are written; their old and new
-- dates / contacts / agents are queued for the post-transforms.
WITH zone AS MATERIALIZED (
    SELECT coalesce((SELECT t.timezone FROM public.tenants t WHERE t.id = :tenant), 'UTC') AS tz
),
typed AS MATERIALIZED (  -- one row per CSV row of the batch, parsed once, with its reject reason
    SELECT x.raw_id, x.loaded_at, x.ord, x.message_id, x.ts, x.queued_at, x.assigned_at, x.closed_at, x.j,
           CASE
               WHEN x.j = '"__no_rows__"'::jsonb THEN 'page has no rows list'
               WHEN jsonb_typeof(x.j) <> 'object' THEN 'row is not an object'
               WHEN x.message_id IS NULL THEN 'missing messageId'
               WHEN length(x.message_id) > 100 THEN 'messageId longer than 100 characters'
               WHEN x.message_date IS NULL THEN 'missing messageDate'
               WHEN x.ts IS NULL THEN 'unparseable messageDate'
               WHEN (x.queued_s IS NOT NULL AND x.queued_at IS NULL)
                 OR (x.assigned_s IS NOT NULL AND x.assigned_at IS NULL)
                 OR (x.closed_s IS NOT NULL AND x.closed_at IS NULL) THEN 'unparseable agent timestamp'
           END AS reason
    FROM (
        SELECT f.*,
               ops.try_timestamptz(f.message_date) AS ts,
               ops.try_timestamptz(f.queued_s) AS queued_at,
               ops.try_timestamptz(f.assigned_s) AS assigned_at,
               ops.try_timestamptz(f.closed_s) AS closed_at
        FROM (
            SELECT r.id AS raw_id, r.loaded_at, e.ord, e.j,
                   nullif(e.j ->> 'messageId', '') AS message_id,
                   nullif(e.j ->> 'messageDate', '') AS message_date,
                   nullif(e.j ->> 'agentQueuedAt', '') AS queued_s,
                   nullif(e.j ->> 'agentAssignedAt', '') AS assigned_s,
                   nullif(e.j ->> 'agentClosedAt', '') AS closed_s
            FROM raw.raw_chat_stats r
            CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(r.source_data -> 'rows') = 'array' THEN r.source_data -> 'rows'
                     ELSE '["__no_rows__"]'::jsonb END) WITH ORDINALITY AS e (j, ord)
            WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/history/csv'
              AND r.id > :lo_0 AND r.id <= :hi_0
            OFFSET 0  -- planner fence: each field is extracted once, not once per reference
        ) f
        OFFSET 0
    ) x
),
latest AS (
    SELECT DISTINCT ON (k.message_id) k.message_id, k.ts, k.queued_at, k.assigned_at, k.closed_at, k.j
    FROM typed k
    WHERE k.reason IS NULL
    ORDER BY k.message_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
shaped AS (
    SELECT l.message_id, l.ts, loc.lt,
           left(nullif(l.j ->> 'sendType', ''), 30) AS send_type,
           nullif(l.j ->> 'integration', '') AS integration_full,
           left(nullif(l.j ->> 'contentType', ''), 30) AS content_type,
           left(nullif(l.j ->> 'status', ''), 20) AS status,
           left(nullif(l.j ->> 'profileName', ''), 255) AS contact_name,
           left(nullif(l.j ->> 'contactId', ''), 100) AS contact_id,
           left(nullif(l.j ->> 'agentConversationId', ''), 100) AS conversation_id,
           left(nullif(l.j ->> 'agentId', ''), 100) AS agent_id,
           left(nullif(l.j ->> 'agentCloseReason', ''), 100) AS close_reason,
           left(nullif(l.j ->> 'dfIntentName', ''), 200) AS intent,
           CASE lower(l.j ->> 'isFallback') WHEN 'yes' THEN true WHEN 'true' THEN true
                                           WHEN 'no' THEN false WHEN 'false' THEN false END AS is_fallback,
           nullif(l.j ->> 'content', '') AS message_body,
           left(nullif(l.j ->> 'channel', ''), 30) AS channel,
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
)
SELECT (SELECT count(*) FROM typed) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM before) AS updated,
       (SELECT count(*) FROM typed WHERE reason IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'reason', k.reason,
                                      'key', k.message_id, 'value', left(k.j::text, 300)) AS s
            FROM typed k WHERE k.reason IS NOT NULL ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       jsonb_build_object('dirty_keys', (SELECT count(*) FROM dirty)) AS metrics
