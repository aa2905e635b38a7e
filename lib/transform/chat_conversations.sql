-- public.chat_conversations <- /v1/chat/agent/conversations envelopes (data[]) in raw.raw_chat_stats.
-- One row per agentSessionId (latest loaded_at, then raw id, then position). wait = assigned - queued,
-- handle = closed - assigned, in whole seconds; NULL when an end is missing; a negative interval is
-- NULL and counted as an anomaly. Rows without agentSessionId are rejected; an unparseable timestamp is
-- kept as NULL and counted as a reject (the session is loaded). Touched agents (old and new agent ids
-- of changed rows) are queued for `agents`.
WITH items AS (
    SELECT r.id AS raw_id, r.loaded_at, e.ord, e.j,
           ops.raw_text(nullif(e.j ->> 'agentSessionId', '')) AS session_id,
           ops.raw_text(nullif(e.j ->> 'queuedAt', '')) AS queued_s,
           ops.raw_text(nullif(e.j ->> 'assignedAt', '')) AS assigned_s,
           ops.raw_text(nullif(e.j ->> 'closedAt', '')) AS closed_s
    FROM raw.raw_chat_stats r
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
         WITH ORDINALITY AS e (j, ord)
    WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/agent/conversations'
      AND r.id > :lo_0 AND r.id <= :hi_0
),
checked AS MATERIALIZED (
    SELECT i.raw_id, i.loaded_at, i.ord, i.session_id, p.queued_at, p.assigned_at, p.closed_at,
           CASE
               WHEN i.j = '"__no_list__"'::jsonb THEN 'response has no data list'
               WHEN jsonb_typeof(i.j) <> 'object' THEN 'item is not an object'
               WHEN i.session_id IS NULL THEN 'missing agentSessionId'
               WHEN length(i.session_id) > 100 THEN 'agentSessionId longer than 100 characters'
           END AS reason,
           nullif(concat_ws(', ',
               CASE WHEN i.queued_s IS NOT NULL AND p.queued_at IS NULL THEN 'queuedAt' END,
               CASE WHEN i.assigned_s IS NOT NULL AND p.assigned_at IS NULL THEN 'assignedAt' END,
               CASE WHEN i.closed_s IS NOT NULL AND p.closed_at IS NULL THEN 'closedAt' END), '') AS bad_fields,
           i.j
    FROM items i
    CROSS JOIN LATERAL (
        SELECT ops.try_timestamptz(i.queued_s) AS queued_at,
               ops.try_timestamptz(i.assigned_s) AS assigned_at,
               ops.try_timestamptz(i.closed_s) AS closed_at
    ) p
),
latest AS MATERIALIZED (
    SELECT DISTINCT ON (k.session_id)
           k.session_id, k.queued_at, k.assigned_at, k.closed_at,
           left(ops.raw_text(nullif(k.j ->> 'conversationSessionId', '')), 100) AS conversation_session_id,
           left(ops.raw_text(nullif(k.j ->> 'contactId', '')), 100) AS contact_id,
           left(ops.raw_text(nullif(k.j ->> 'agentId', '')), 100) AS agent_id,
           left(ops.raw_text(nullif(coalesce(k.j ->> 'email', k.j ->> 'agentEmail'), '')), 255) AS agent_email,
           left(ops.raw_text(nullif(k.j ->> 'channel', '')), 30) AS channel,
           left(ops.raw_text(nullif(coalesce(k.j ->> 'initialAgentSession', k.j ->> 'initialSessionId'), '')), 100)
               AS initial_session_id,
           extract(epoch FROM k.assigned_at - k.queued_at) AS wait_s,
           extract(epoch FROM k.closed_at - k.assigned_at) AS handle_s
    FROM checked k
    WHERE k.reason IS NULL
    ORDER BY k.session_id, k.loaded_at DESC, k.raw_id DESC, k.ord DESC
),
up AS (
    INSERT INTO public.chat_conversations AS c (
        tenant_id, session_id, conversation_session_id, contact_id, agent_id, agent_email, channel,
        queued_at, assigned_at, closed_at, initial_session_id, wait_time_seconds, handle_time_seconds)
    SELECT :tenant, l.session_id, l.conversation_session_id, l.contact_id, l.agent_id, l.agent_email,
           l.channel, l.queued_at, l.assigned_at, l.closed_at, l.initial_session_id,
           CASE WHEN l.wait_s >= 0 THEN floor(l.wait_s)::integer END,
           CASE WHEN l.handle_s >= 0 THEN floor(l.handle_s)::integer END
    FROM latest l
    ON CONFLICT (tenant_id, session_id) DO UPDATE SET
        conversation_session_id = EXCLUDED.conversation_session_id, contact_id = EXCLUDED.contact_id,
        agent_id = EXCLUDED.agent_id, agent_email = EXCLUDED.agent_email, channel = EXCLUDED.channel,
        queued_at = EXCLUDED.queued_at, assigned_at = EXCLUDED.assigned_at, closed_at = EXCLUDED.closed_at,
        initial_session_id = EXCLUDED.initial_session_id, wait_time_seconds = EXCLUDED.wait_time_seconds,
        handle_time_seconds = EXCLUDED.handle_time_seconds, updated_at = EXCLUDED.updated_at
    WHERE (c.conversation_session_id, c.contact_id, c.agent_id, c.agent_email, c.channel, c.queued_at,
           c.assigned_at, c.closed_at, c.initial_session_id, c.wait_time_seconds, c.handle_time_seconds)
      IS DISTINCT FROM
          (EXCLUDED.conversation_session_id, EXCLUDED.contact_id, EXCLUDED.agent_id, EXCLUDED.agent_email,
           EXCLUDED.channel, EXCLUDED.queued_at, EXCLUDED.assigned_at, EXCLUDED.closed_at,
           EXCLUDED.initial_session_id, EXCLUDED.wait_time_seconds, EXCLUDED.handle_time_seconds)
    RETURNING c.session_id, c.agent_id
),
before AS (
    SELECT o.agent_id FROM public.chat_conversations o
    JOIN up ON up.session_id = o.session_id
    WHERE o.tenant_id = :tenant
),
dirty AS (
    INSERT INTO ops.transform_dirty (tenant_id, target, key)
    SELECT DISTINCT :tenant, 'agents', a.agent_id
    FROM (SELECT agent_id FROM up UNION ALL SELECT agent_id FROM before) a
    WHERE a.agent_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       (SELECT count(*) FROM before) AS updated,
       (SELECT count(*) FROM checked WHERE reason IS NOT NULL OR bad_fields IS NOT NULL) AS rejects,
       (SELECT coalesce(jsonb_agg(q.s), '[]'::jsonb) FROM (
            SELECT jsonb_build_object('raw_id', k.raw_id, 'row', k.ord, 'key', k.session_id,
                                      'reason', coalesce(k.reason, 'unparseable ' || k.bad_fields || ' (row kept, set to NULL)'),
                                      'value', left(k.j::text, 300)) AS s
            FROM checked k WHERE k.reason IS NOT NULL OR k.bad_fields IS NOT NULL
            ORDER BY k.raw_id, k.ord LIMIT 5) q) AS reject_samples,
       jsonb_build_object(
           'negative_wait', (SELECT count(*) FROM latest WHERE wait_s < 0),
           'negative_handle', (SELECT count(*) FROM latest WHERE handle_s < 0),
           'anomalies', (SELECT count(*) FROM latest WHERE wait_s < 0 OR handle_s < 0),
           'anomaly_samples', (SELECT coalesce(jsonb_agg(a.session_id), '[]'::jsonb) FROM (
                SELECT session_id FROM latest WHERE wait_s < 0 OR handle_s < 0 ORDER BY session_id LIMIT 5) a),
           'open_sessions', (SELECT count(*) FROM latest WHERE closed_at IS NULL),
           'dirty_keys', (SELECT count(*) FROM dirty)) AS metrics
