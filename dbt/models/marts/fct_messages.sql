{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'message_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ ensure_index(['tenant_id', 'date']) }}",
            "{{ ensure_index(['tenant_id', 'message_ts']) }}",
        ]
    )
}}

-- One row per message. Incremental: a run re-emits every message of the contacts that have a message
-- updated since the tenant's watermark (minus a lookback), so their conversation keys stay right.
-- Contacts are matched on coalesce(contact_id, '') (the sessionizer's contact key): an equality, so
-- PostgreSQL hash-joins it (an `is not distinct from` join was a nested loop: ~70 s on 130k messages).

-- On Citus the CTEs are inlined (dbt/macros/citus.sql, bi_cte_inline) so the model runs on the workers.
{%- set inline = bi_cte_inline() %}
with messages as {{ inline }} (
    select * from {{ ref('int_messages__sessionized') }}
)

{% if is_incremental() %}
, watermarks as {{ inline }} (
    select tenant_id, max(source_updated_at) as watermark
    from {{ this }}
    group by 1
)

, changed_contacts as {{ inline }} (
    select distinct messages.tenant_id, coalesce(messages.contact_id, '') as contact_key
    from messages
    left join watermarks on watermarks.tenant_id = messages.tenant_id
    where watermarks.watermark is null
        or messages.source_updated_at
            > watermarks.watermark - interval '{{ var("incremental_lookback_minutes") }} minutes'
)
{% endif %}

select
    messages.tenant_id,
    messages.message_id,
    messages.message_ts,
    messages.message_date as date,
    messages.message_hour as hour,
    messages.weekday_num,
    messages.day_of_week,
    messages.channel,
    messages.direction,
    messages.send_type,
    messages.content_type,
    messages.status,
    messages.contact_id,
    messages.contact_name,
    messages.conversation_key,
    messages.agent_session_id,
    messages.agent_id,
    messages.intent,
    messages.is_fallback,
    messages.is_bot,
    messages.is_human,
    messages.message_body,
    messages.integration,
    messages.close_reason,
    messages.is_conversation_start,
    messages.source_updated_at
from messages
{% if is_incremental() %}
inner join changed_contacts
    on changed_contacts.tenant_id = messages.tenant_id
    and changed_contacts.contact_key = coalesce(messages.contact_id, '')
{% endif %}
