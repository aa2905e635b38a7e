{#- The `where` of a data test, with two placeholders, so that a test reads what changed instead of the
    whole table each build (rows it skips were checked by the build that read or wrote them):
    - `__built_this_run__`: `built_at = (the table's newest build stamp, a literal: bi_newest_stamp)`,
      the rows this build wrote in an incremental model (every row after a full refresh);
    - `__since_built__(model)`: `updated_at > (model's newest build stamp) - the lookback margin`, the
      staged rows written since `model` (the incremental model that reads them, in the same schema)
      was last built; every row while it has never been built (or has no stamp yet).
    dbt calls this macro for every data test (its documented override point). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__built_this_run__' in where -%}
            {%- set where = where | replace(
                '__built_this_run__', 'built_at = ' ~ bi_newest_stamp(relation)) -%}
        {%- endif -%}
        {%- if '__since_built__(' in where -%}
            {%- set reader_name = where.split('__since_built__(')[1].split(')')[0] -%}
            {%- set reader = adapter.get_relation(
                database=relation.database, schema=relation.schema, identifier=reader_name) -%}
            {%- set since = ('updated_at > ' ~ bi_newest_stamp(reader) ~ ' - ' ~ bi_lookback())
                if reader is not none and bi_has_columns(reader, ['built_at']) else 'true' -%}
            {%- set where = where | replace('__since_built__(' ~ reader_name ~ ')', since) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
