{#- A table a build has just replaced has no statistics until autovacuum samples it, a minute or more
    later: until then the planner assumes default sizes for it, in the models downstream in the same
    build and in the dashboards' first queries after it (a mart read with a default estimate, or a
    join planned for a CTE-sized input, can pick a plan that compares every pair of rows). So every
    `table` model is ANALYZEd as the last step of its build (a sample: at most 300 × the statistics
    target rows, 30 000 by default, whatever the table's size). Incremental tables keep their statistics between builds (a new stamp past the histogram's
    end is estimated from the built_at index). -#}
{% macro bi_analyze_rebuilt() -%}
    {%- if config.get('materialized') == 'table' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
