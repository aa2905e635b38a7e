-- One row per conversation (docs/contracts.md: contact messages split by > 30 min inactivity unless
-- inside the same agent session). Window KPIs (containment, escalation, repeat contact, first human
-- response medians) are computed over these rows. int_conversations' incremental bookkeeping
-- (bi_conversation_bookkeeping: contact_key, built_at, sessions_updated_at, closes_at) stays there.

select {{ bi_columns_except(ref('int_conversations'), bi_conversation_bookkeeping()) }}
from {{ ref('int_conversations') }}
