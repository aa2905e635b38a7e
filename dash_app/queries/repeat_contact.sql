-- Repeat contact ≤ 24 h over conversations started in the window (fct_conversations flags, dbt):
-- distinct contacts with is_followed_within_24h ÷ distinct contacts with is_closed.
-- Grouping per contact first lets PostgreSQL hash instead of sorting for two distinct counts.
SELECT COUNT(*) FILTER (WHERE followed) AS repeat_contacts,
       COUNT(*) FILTER (WHERE closed)   AS closed_contacts
FROM (
    SELECT contact_id,
           bool_or(COALESCE(is_followed_within_24h, false)) AS followed,
           bool_or(COALESCE(is_closed, false))              AS closed
    FROM analytics.fct_conversations
    WHERE tenant_id = :tenant
      AND start_date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
    GROUP BY contact_id
) per_contact
