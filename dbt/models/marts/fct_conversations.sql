-- One row per conversation (docs/contracts.md: contact messages split by > 30 min inactivity unless
-- inside the same agent session). Window KPIs (containment, escalation, repeat contact, first human
-- response medians) are computed over these rows. int_conversations' incremental bookkeeping
-- (contact_key, sessions_updated_at, closes_at, built_at) stays there.

select {{ bi_columns_except(ref('int_conversations'), ['contact_key', 'sessions_updated_at', 'closes_at', 'built_at']) }}
from {{ ref('int_conversations') }}
