-- Repeat contact ≤ 24 h over conversations started in the window (fct_conversations flags, dbt):
-- distinct contacts with an observable closed conversation followed within 24 h ÷ distinct contacts
-- with an observable closed conversation. Observable = a full 24 h after its end has been loaded
-- (conversations that closed near the end of the data cannot show a repeat yet: censored).
SELECT COUNT(*) FILTER (WHERE followed) AS repeat_contacts,
       COUNT(*) FILTER (WHERE closed)   AS closed_contacts
FROM (
    SELECT contact_id,
           bool_or(is_repeat_observable AND is_followed_within_24h) AS followed,
           bool_or(is_repeat_observable)                            AS closed
    FROM analytics.fct_conversations
    WHERE tenant_id = :tenant
      AND start_date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
    GROUP BY contact_id
) per_contact
