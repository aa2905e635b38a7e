{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'message_id'],
        incremental_strategy='logged_delete_insert',
        change_log_day='date',
        change_log_session='agent_session_id',
        change_log_columns=['tenant_id', 'message_id', 'message_ts', 'date', 'channel', 'direction',
                            'status', 'contact_id', 'agent_session_id', 'intent', 'is_fallback'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ ensure_index(['tenant_id', 'message_id'], unique=true) }}",
            "{{ ensure_index(['tenant_id', 'date']) }}",
            "{{ ensure_index(['tenant_id', 'agent_session_id']) }}",
            "{{ ensure_index(['tenant_id', 'message_ts']) }}",
            "{{ ensure_index(['built_at']) }}",
        ]
    )
}}

-- One row per message. Incremental: a build copies the rows int_messages__sessionized (re)wrote since
-- this table's newest build stamp (built_at): every message of each contact it re-grouped, so their
-- conversation keys stay right. A table without built_at (built before the stamp) is copied in full once.
-- The days whose rows changed go to the change log (dbt/macros/change_log.sql) for mart_daily_kpis:
-- change_log_columns are the columns that mart reads (add one there when the mart reads one more).

-- On Citus the CTEs are inlined (dbt/macros/citus.sql, bi_cte_inline) so the model runs on the workers.
{%- set inline = bi_cte_inline() %}
{%- set incremental = is_incremental() and bi_has_columns(this, ['built_at']) %}
with messages as {{ inline }} (
    select * from {{ ref('int_messages__sessionized') }}
    {% if incremental -%}
    where built_at > {{ bi_newest_stamp(this) }}
    {%- endif %}
)

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
    messages.source_updated_at,
    messages.built_at
from messages
