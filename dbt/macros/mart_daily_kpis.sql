{#- mart_daily_kpis' incremental unit: the tenant-days to rewrite (see the model's header). -#}
{% macro mart_daily_kpis_dirty_days(relation) -%}
    with logged as (
        {{ bi_changed_days(relation) }}
    ),
    touched_sessions as (  -- the agent sessions a changed message left or joined: their start may move
        select distinct tenant_id, session_id from logged where session_id is not null
    )
    select distinct tenant_id, date from logged
    union
    select held.tenant_id, held.date  -- every day of those sessions: where they started, and start now
    from touched_sessions
    inner join {{ ref('fct_messages') }} as held
        on held.tenant_id = touched_sessions.tenant_id
        and held.agent_session_id = touched_sessions.session_id
    where held.date is not null
{%- endmacro %}

{#- Pre-hook: an incremental build first deletes the days it rewrites; a full one (`full`: Citus, or a
    table without built_at) empties the table. Nothing when the table is new. -#}
{% macro mart_daily_kpis_clear(full) -%}
    {%- if execute and is_incremental() and full -%}
        truncate table {{ this }}
    {%- elif execute and is_incremental() -%}
        delete from {{ this }} as held
        using ({{ mart_daily_kpis_dirty_days(this) }}) as dirty
        where dirty.tenant_id = held.tenant_id and dirty.date = held.date
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
