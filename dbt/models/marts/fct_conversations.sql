-- One row per conversation (docs/contracts.md: contact messages split by > 30 min inactivity unless
-- inside the same agent session). Window KPIs (containment, escalation, repeat contact, first human
-- response medians) are computed over these rows.

select * from {{ ref('int_conversations') }}
