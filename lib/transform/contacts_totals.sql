-- Post-transform: public.contacts totals from public.messages for the queued contacts (all contacts
-- when :full). total_messages, total_conversations (the dashboards' conversations: a new one at the
-- contact's first message or after > 30 min of silence, unless inside the same agent session),
-- first_contact (the earlier of the contact's createdAt and its first message, tenant-local: the loaded
-- messages alone would cap it at the loaded window) and last_contact (messages.date, tenant-local).
-- Without messages: 0, 0, the createdAt date (or NULL), NULL.
-- The queue entries are consumed (deleted) by this same statement.
WITH zone AS MATERIALIZED (
    SELECT coalesce((SELECT t.timezone FROM public.tenants t WHERE t.id = :tenant), 'UTC') AS tz
),
consumed AS (
    DELETE FROM ops.transform_dirty d
    WHERE d.tenant_id = :tenant AND d.target = 'contacts'
    RETURNING d.key
),
keys AS (
    SELECT c.contact_id, (c.source_created_at AT TIME ZONE (SELECT tz FROM zone))::date AS created_date
    FROM public.contacts c
    WHERE c.tenant_id = :tenant
      AND (:full OR c.contact_id IN (SELECT key FROM consumed))
),
msgs AS (
    SELECT m.contact_id, m.message_id, m.date,
           CASE
                      WHEN lag(m.message_id) OVER w IS NULL THEN true
                      WHEN m.conversation_id IS NOT NULL AND m.conversation_id = lag(m.conversation_id) OVER w THEN false
                      ELSE coalesce(m."timestamp" - lag(m."timestamp") OVER w > interval '30 minutes', false)
                  END AS is_start
    FROM public.messages m
    WHERE m.tenant_id = :tenant AND m.contact_id IN (SELECT contact_id FROM keys)
    WINDOW w AS (PARTITION BY m.contact_id ORDER BY m."timestamp" NULLS LAST, m.message_id)
),
agg AS (
    SELECT k.contact_id,
           count(m.message_id)::integer AS total_messages,
           count(*) FILTER (WHERE m.is_start)::integer AS total_conversations,
           least(min(m.date), k.created_date) AS first_contact,
           max(m.date) AS last_contact
    FROM keys k
    LEFT JOIN msgs m ON m.contact_id = k.contact_id
    GROUP BY k.contact_id, k.created_date
),
up AS (
    UPDATE public.contacts c SET
        total_messages = a.total_messages, total_conversations = a.total_conversations,
        first_contact = a.first_contact, last_contact = a.last_contact, updated_at = now()
    FROM agg a
    WHERE c.tenant_id = :tenant AND c.contact_id = a.contact_id
      AND (c.total_messages, c.total_conversations, c.first_contact, c.last_contact)
          IS DISTINCT FROM (a.total_messages, a.total_conversations, a.first_contact, a.last_contact)
    RETURNING 1
)
SELECT (SELECT count(*) FROM keys) AS rows_in,
       (SELECT count(*) FROM up) AS rows_out,
       0 AS rejects,
       '[]'::jsonb AS reject_samples,
       jsonb_build_object('queued', (SELECT count(*) FROM consumed)) AS metrics
