{#- int_intents' pre-hook. Incremental: first remove the rows of the messages int_messages__sessionized
    rewrote since this table's build (they may have left their conversation, whose key may be gone, or
    no longer be intents); the build then re-emits the conversations int_conversations recomputed.
    On Citus (every build full): empty the table, which the build then fills. -#}
{% macro int_intents_clear() -%}
    {%- if execute and is_incremental() and bi_citus_enabled() -%}
        truncate table {{ this }}
    {%- elif execute and is_incremental() and bi_has_columns(this, ['built_at']) -%}
        delete from {{ this }} as held
        using {{ ref('int_messages__sessionized') }} as rewritten
        where rewritten.built_at > {{ bi_newest_stamp(this) }}
            and rewritten.tenant_id = held.tenant_id
            and rewritten.message_id = held.message_id
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
