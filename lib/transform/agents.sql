-- Post-transform: public.agents for the queued agent ids (every agent when :full), from
-- public.chat_conversations (conversations_handled = sessions, avg_handle_time_seconds = rounded mean of
-- the non-NULL handle times, agent_email = the email of the latest session) and public.messages
-- (total_messages = the agent's own messages, sendType operator: the dashboards' agent messages,
-- not every message of the session that carries the agent id). An agent found in neither has no row.
WITH consumed AS (
    DELETE FROM ops.transform_dirty d
    WHERE d.tenant_id = :tenant AND d.target = 'agents'
    RETURNING d.key
),
keys AS (
    SELECT key AS agent_id FROM consumed WHERE NOT :full
    UNION
    SELECT c.agent_id FROM public.chat_conversations c WHERE :full AND c.tenant_id = :tenant
    UNION
    SELECT m.agent_id FROM public.messages m WHERE :full AND m.tenant_id = :tenant
    UNION
    SELECT a.agent_id FROM public.agents a WHERE :full AND a.tenant_id = :tenant
),
sessions AS (
    SELECT c.agent_id, count(*)::integer AS conversations_handled,
           round(avg(c.handle_time_seconds))::integer AS avg_handle_time_seconds,
           (array_agg(c.agent_email ORDER BY coalesce(c.closed_at, c.assigned_at, c.queued_at) DESC NULLS LAST,
                      c.session_id DESC) FILTER (WHERE c.agent_email IS NOT NULL))[1] AS agent_email
    FROM public.chat_conversations c
    WHERE c.tenant_id = :tenant AND c.agent_id IN (SELECT agent_id FROM keys)
    GROUP BY c.agent_id
),
msgs AS (
    SELECT m.agent_id, count(*)::integer AS total_messages
    FROM public.messages m
    WHERE m.tenant_id = :tenant AND m.agent_id IN (SELECT agent_id FROM keys) AND m.is_human
    GROUP BY m.agent_id
),
computed AS (
    SELECT k.agent_id,
           coalesce(g.total_messages, 0) AS total_messages,
           coalesce(s.conversations_handled, 0) AS conversations_handled,
           s.avg_handle_time_seconds, s.agent_email,
           (s.agent_id IS NOT NULL OR g.agent_id IS NOT NULL) AS has_data
    FROM keys k
    LEFT JOIN sessions s ON s.agent_id = k.agent_id
    LEFT JOIN msgs g ON g.agent_id = k.agent_id
    WHERE k.agent_id IS NOT NULL
),
up AS (
    INSERT INTO public.agents AS a (tenant_id, agent_id, total_messages, conversations_handled,
                                    avg_handle_time_seconds, agent_email)
    SELECT :tenant, c.agent_id, c.total_messages, c.conversations_handled, c.avg_handle_time_seconds,
           c.agent_email
    FROM computed c
    WHERE c.has_data
    ON CONFLICT (tenant_id, agent_id) DO UPDATE SET
        total_messages = EXCLUDED.total_messages, conversations_handled = EXCLUDED.conversations_handled,
        avg_handle_time_seconds = EXCLUDED.avg_handle_time_seconds, agent_email = EXCLUDED.agent_email,
        updated_at = EXCLUDED.updated_at
    WHERE (a.total_messages, a.conversations_handled, a.avg_handle_time_seconds, a.agent_email)
      IS DISTINCT FROM (EXCLUDED.total_messages, EXCLUDED.conversations_handled,
                        EXCLUDED.avg_handle_time_seconds, EXCLUDED.agent_email)
    RETURNING 1
),
gone AS (
    DELETE FROM public.agents a
    USING computed c
    WHERE a.tenant_id = :tenant AND a.agent_id = c.agent_id AND NOT c.has_data
    RETURNING 1
)
SELECT (SELECT count(*) FROM computed) AS rows_in,
       (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS rows_out,
       (SELECT count(*) FROM gone) AS deleted,
       0 AS rejects,
       '[]'::jsonb AS reject_samples,
       jsonb_build_object('queued', (SELECT count(*) FROM consumed)) AS metrics
