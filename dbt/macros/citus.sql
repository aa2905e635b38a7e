{#- Citus mode (issue 18, lib/db/citus.py): a table dbt builds is created empty, placed by
    ops.citus_distribute (distributed by tenant_id, co-located with public.*; a table without tenant_id
    becomes a reference table) and handed to bi_dbt (on Citus dbt works as its login without SET ROLE:
    lib/db/citus.py dbt_role), then filled with INSERT ... SELECT, which Citus runs on the workers,
    shard by shard, when the model reads co-located tables by tenant. The post-hook
    (apply_tenant_isolation) then enables RLS and grants on the distributed table, and Citus propagates
    both to its shards; a rebuilt mart is a new distributed table, isolated like the one it replaces.
    Temporary tables (incremental batches) and plain PostgreSQL keep dbt's own CREATE TABLE AS. -#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
  {%- if not temporary and bi_citus_enabled() -%}
    {{ bi_citus_create_table_as(relation, sql) }}
  {%- else -%}
    {{ dbt.postgres__create_table_as(temporary, relation, sql) }}
  {%- endif -%}
{%- endmacro %}

{% macro bi_citus_enabled() -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set found = run_query("select exists (select 1 from pg_catalog.pg_extension where extname = 'citus')") -%}
  {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}

{% macro bi_citus_create_table_as(relation, sql) -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {{ sql_header if sql_header is not none }}
  create {% if config.get('unlogged', default=false) %}unlogged {% endif %}table {{ relation }} as (
    {{ sql }}
  ) with no data;
  alter table {{ relation }} owner to {{ var('dbt_group', 'bi_dbt') }};
  select ops.citus_distribute('{{ relation }}'::regclass, tenant_required => true);
  insert into {{ relation }} select * from (
    {{ sql }}
  ) as citus_source;
{%- endmacro %}

{#- Incremental delete+insert on Citus (fct_messages): dbt stages the batch in a temporary table on
    the coordinator, and Citus would send its rows to the target's shards with COPY, which PostgreSQL
    refuses on a table under row-level security. So the batch is first copied into a distributed
    table of its own (no RLS; created and dropped inside the model's transaction, never visible),
    co-located with the target: the DELETE and the INSERT ... SELECT then run on the workers. -#}
{% macro postgres__get_incremental_delete_insert_sql(arg_dict) -%}
  {%- if bi_citus_enabled() -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set batch = target.incorporate(path={"identifier": target.identifier ~ "__citus_batch"}) -%}
    drop table if exists {{ batch }};
    create table {{ batch }} as select * from {{ arg_dict["temp_relation"] }} with no data;
    select ops.citus_distribute('{{ batch }}'::regclass, tenant_required => true);
    insert into {{ batch }} select * from {{ arg_dict["temp_relation"] }};
    {{ get_delete_insert_merge_sql(target, batch, arg_dict["unique_key"], arg_dict["dest_columns"],
                                   arg_dict["incremental_predicates"]) }};
    drop table {{ batch }};
  {%- else -%}
    {{ return(dbt.default__get_incremental_delete_insert_sql(arg_dict)) }}
  {%- endif -%}
{%- endmacro %}

{#- CTE keyword for models that read a CTE more than once (int_conversations): PostgreSQL materializes
    such a CTE, and Citus then plans it apart, pulling all of its rows (every tenant) into the
    coordinator and running the model there as one task. `not materialized` lets Citus inline it, so
    the whole model runs on the workers, shard by shard. Plain PostgreSQL keeps its default plan. -#}
{% macro bi_cte_inline() -%}
  {{- return('not materialized' if bi_citus_enabled() else '') -}}
{%- endmacro %}
