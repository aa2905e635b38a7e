{#- The `where` of a data test, with one placeholder: `__built_this_run__` is `built_at = (the table's
    newest build stamp, a literal: bi_newest_stamp)`, so a test of an incremental model checks the rows
    this build wrote (every row after a full refresh) instead of re-reading the whole table each
    build. Rows it did not rewrite were checked by the build that wrote them. dbt calls this macro
    for every data test (its documented override point). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__built_this_run__' in where -%}
            {%- set where = where | replace(
                '__built_this_run__', 'built_at = ' ~ bi_newest_stamp(relation)) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
