-- Distinct contacts with a message in the window (a distinct count cannot be summed from daily rows).
-- DISTINCT in a subquery lets PostgreSQL hash instead of sorting every row.
SELECT COUNT(*) AS unique_contacts
FROM (
    SELECT DISTINCT contact_id
    FROM analytics.fct_messages
    WHERE tenant_id = :tenant
      AND date BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND (CAST(:channel AS text) = 'all' OR channel = CAST(:channel AS text))
      AND contact_id IS NOT NULL
) c
