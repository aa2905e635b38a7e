-- Post-transform: public.daily_stats for the queued tenant-local dates (every date when :full).
-- chat_messages, unique_contacts, conversations (the dashboards' rule: conversations counted on the
-- date of their first message, a new one after > 30 min of silence unless inside the same agent
-- session, so a session across midnight counts once; a queued date also recomputes the next date,
-- whose first conversation may now continue one of the queued date), fallback_count from
-- public.messages; push_enviados = Σ public.toques_daily.enviados; total_messages = chat + push.
-- A date with neither messages nor toques_daily rows has no row (deleted if it had one).
WITH consumed AS (
    DELETE FROM ops.transform_dirty d
    WHERE d.tenant_id = :tenant AND d.target = 'daily_stats'
    RETURNING d.key
),
keys AS (
    SELECT ops.try_date(key) AS date FROM consumed WHERE NOT :full
    UNION
    SELECT ops.try_date(key) + 1 FROM consumed WHERE NOT :full
    UNION
    SELECT m.date FROM public.messages m WHERE :full AND m.tenant_id = :tenant
    UNION
    SELECT t.date FROM public.toques_daily t WHERE :full AND t.tenant_id = :tenant
    UNION
    SELECT s.date FROM public.daily_stats s WHERE :full AND s.tenant_id = :tenant
),
starts AS (
    SELECT s.date, count(*)::integer AS conversations
    FROM (
        SELECT m.date,
               CASE
                  WHEN lag(m.message_id) OVER w IS NULL THEN true
                  WHEN m.conversation_id IS NOT NULL AND m.conversation_id = lag(m.conversation_id) OVER w THEN false
                  ELSE coalesce(m."timestamp" - lag(m."timestamp") OVER w > interval '30 minutes', false)
              END AS is_start
        FROM public.messages m
        WHERE m.tenant_id = :tenant
          AND coalesce(m.contact_id, '') IN (
              SELECT coalesce(a.contact_id, '') FROM public.messages a
              WHERE a.tenant_id = :tenant AND a.date IN (SELECT date FROM keys))
        WINDOW w AS (PARTITION BY coalesce(m.contact_id, '') ORDER BY m."timestamp" NULLS LAST, m.message_id)
    ) s
    WHERE s.is_start AND s.date IN (SELECT date FROM keys)
    GROUP BY s.date
),
chat AS (
    SELECT m.date, count(*)::integer AS chat_messages,
           count(DISTINCT m.contact_id)::integer AS unique_contacts,
           coalesce(max(st.conversations), 0)::integer AS conversations,
           count(*) FILTER (WHERE m.is_fallback AND m.direction = 'Inbound' AND m.intent IS NOT NULL)::integer
               AS fallback_count
    FROM public.messages m
    LEFT JOIN starts st ON st.date = m.date
    WHERE m.tenant_id = :tenant AND m.date IN (SELECT date FROM keys)
    GROUP BY m.date
),
push AS (
    SELECT t.date, coalesce(sum(t.enviados), 0)::integer AS push_enviados
    FROM public.toques_daily t
    WHERE t.tenant_id = :tenant AND t.date IN (SELECT date FROM keys)
    GROUP BY t.date
),
computed AS (
    SELECT k.date,
           coalesce(c.chat_messages, 0) AS chat_messages, coalesce(p.push_enviados, 0) AS push_enviados,
           coalesce(c.unique_contacts, 0) AS unique_contacts, coalesce(c.conversations, 0) AS conversations,
           coalesce(c.fallback_count, 0) AS fallback_count,
           (c.date IS NOT NULL OR p.date IS NOT NULL) AS has_data
    FROM keys k
    LEFT JOIN chat c ON c.date = k.date
    LEFT JOIN push p ON p.date = k.date
    WHERE k.date IS NOT NULL
),
up AS (
    INSERT INTO public.daily_stats AS d (tenant_id, date, total_messages, unique_contacts, conversations,
                                         fallback_count, chat_messages, push_enviados)
    SELECT :tenant, c.date, c.chat_messages + c.push_enviados, c.unique_contacts, c.conversations,
           c.fallback_count, c.chat_messages, c.push_enviados
    FROM computed c
    WHERE c.has_data
    ON CONFLICT (tenant_id, date) DO UPDATE SET
        total_messages = EXCLUDED.total_messages, unique_contacts = EXCLUDED.unique_contacts,
        conversations = EXCLUDED.conversations, fallback_count = EXCLUDED.fallback_count,
        chat_messages = EXCLUDED.chat_messages, push_enviados = EXCLUDED.push_enviados, updated_at = EXCLUDED.updated_at
    WHERE (d.total_messages, d.unique_contacts, d.conversations, d.fallback_count, d.chat_messages,
           d.push_enviados)
      IS DISTINCT FROM (EXCLUDED.total_messages, EXCLUDED.unique_contacts, EXCLUDED.conversations,
                        EXCLUDED.fallback_count, EXCLUDED.chat_messages, EXCLUDED.push_enviados)
    RETURNING 1
),
gone AS (
    DELETE FROM public.daily_stats d
    USING computed c
    WHERE d.tenant_id = :tenant AND d.date = c.date AND NOT c.has_data
    RETURNING 1
)
SELECT (SELECT count(*) FROM computed) AS rows_in,
       (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS rows_out,
       (SELECT count(*) FROM gone) AS deleted,
       0 AS rejects,
       '[]'::jsonb AS reject_samples,
       jsonb_build_object('queued', (SELECT count(*) FROM consumed)) AS metrics
