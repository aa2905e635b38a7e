{#- A table a build has just created or replaced has no statistics until autovacuum samples it, a
    minute or more later: until then the planner assumes default sizes for it, in the models downstream
    in the same build and in the dashboards' first queries after it (a mart read with a default
    estimate, or a join planned for a CTE-sized input, can pick a plan that compares every pair of
    rows: int_intents' first build once took 27.8 s instead of 0.4 s). So every `table` model is
    ANALYZEd as the last step of its build (a sample: at most 300 × the statistics target rows, 30 000
    by default, whatever the table's size), and an incremental one when it has never been (reltuples
    < 0: its first build, or a full refresh, which creates it anew). An incremental table keeps its
    statistics between builds (≈ 0.5 s to refresh on the message tables: not every build). -#}
{% macro bi_analyze_rebuilt() -%}
    {%- if config.get('materialized') == 'table' -%}
        analyze {{ this }}
    {%- elif config.get('materialized') == 'incremental' -%}
do $bi_analyze_new$
begin
    if (select reltuples < 0 from pg_catalog.pg_class where oid = '{{ this }}'::regclass) then
        execute 'analyze {{ this }}';
    end if;
end
$bi_analyze_new$
    {%- endif -%}
{%- endmacro %}
