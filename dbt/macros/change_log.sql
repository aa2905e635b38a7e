{#- The tenant-days an incremental build changed, for the marts that aggregate by day (mart_daily_kpis):
    a model with incremental_strategy='logged_delete_insert' works as delete+insert and first records,
    in analytics.bi_change_log, the (tenant_id, day) of every row it removes or adds whose compared
    columns differ (`change_log_columns`: what the consumer reads, keys included): a message's old
    day and its new one, a
    conversation that a re-grouping removed; with `change_log_session`, that column's value too (the
    agent session a message left or joined). Rows it rewrites unchanged (a re-emitted contact's older
    conversations) are not days that changed. The log is read and pruned by its consumer
    (bi_change_log_consumed). Not on Citus: the consumer rebuilds in full there. -#}

{% macro bi_change_log() -%}
    {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='bi_change_log')) }}
{%- endmacro %}

{% macro bi_ensure_change_log() -%}
    create table if not exists {{ bi_change_log() }} (
        tenant_id text not null,
        day date not null,
        model text not null,
        built_at timestamptz not null,
        session_id text  -- change_log_session: the agent session of a changed message (old or new)
    );
    create index if not exists bi_change_log_built_at_idx on {{ bi_change_log() }} (built_at);
    select ops.enable_tenant_rls('{{ bi_change_log() }}'::regclass);
    revoke all on {{ bi_change_log() }} from {{ var('reader_role', 'bi_reader') }};
{%- endmacro %}

{% macro get_incremental_logged_delete_insert_sql(arg_dict) -%}
    {%- if bi_citus_enabled() -%}
        {{ return(get_incremental_delete_insert_sql(arg_dict)) }}
    {%- endif -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set temp_relation = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set keys = (unique_key if unique_key is sequence and unique_key is not string else [unique_key])
        | join(', ') -%}
    {%- set day = config.require('change_log_day') -%}
    {%- set session = config.get('change_log_session') -%}
    {%- set only = config.require('change_log_columns') -%}
    {%- set compared = [] -%}
    {%- for column in arg_dict['dest_columns'] if column.name | lower in only -%}
        {%- do compared.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- set cols = compared | join(', ') -%}
    {{ bi_ensure_change_log() }}
    with replaced as (
        select {{ cols }} from {{ target_relation }}
        where ({{ keys }}) in (select {{ keys }} from {{ temp_relation }})
    ),
    written as (
        select {{ cols }} from {{ temp_relation }}
    ),
    changed as (
        (select * from replaced except select * from written)
        union all
        (select * from written except select * from replaced)
    )
    insert into {{ bi_change_log() }} (tenant_id, day, model, built_at, session_id)
    select distinct tenant_id, {{ day }}, '{{ target_relation.identifier }}', {{ bi_build_stamp() }},
        {{ session or 'null::text' }}
    from changed
    where {{ day }} is not null;
    {{ get_incremental_delete_insert_sql(arg_dict) }}
{%- endmacro %}

{#- What the consumer has not read yet: the rows logged since its own newest build stamp. -#}
{% macro bi_changed_days(consumer) -%}
    select tenant_id, day as date, session_id
    from {{ bi_change_log() }}
    where built_at > {{ bi_newest_stamp(consumer) }}
{%- endmacro %}

{#- Post-hook of the consumer: what it has read is dropped (it is the log's only reader). -#}
{% macro bi_change_log_consumed() -%}
    {%- if bi_citus_enabled() -%}
        select 1
    {%- else -%}
        {{ bi_ensure_change_log() }}
        delete from {{ bi_change_log() }} where built_at <= {{ bi_build_stamp() }}
    {%- endif -%}
{%- endmacro %}
