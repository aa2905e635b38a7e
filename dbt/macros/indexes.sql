{#- ensure_index(columns): a post-hook that gives {{ this }} a btree index on `columns` unless it has
    one already. For incremental models, whose table dbt's `indexes` config only indexes when it creates
    it: a table built before the index was declared gets it on its next run. The index is unnamed (its
    name chosen by PostgreSQL): a named `create index if not exists` would find the name still taken by
    the backup table of a full refresh and silently skip. `unique=true`: a unique index, which then
    enforces the model's key on every write (cheaper than a data test scanning the whole table). -#}
{% macro ensure_index(columns, unique=false) -%}
do $bi_ensure_index$
begin
    if not exists (
        select 1 from pg_indexes
        where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
          and indexdef like '{{ "CREATE UNIQUE INDEX" if unique else "" }}%USING btree ({{ columns | join(", ") }})'
    ) then
        execute 'create {{ "unique " if unique }}index on {{ this }} ({{ columns | join(", ") }})';
    end if;
end
$bi_ensure_index$
{%- endmacro %}

{#- Drop the model's plain (not unique) index on exactly `columns`, if it is there: one that a wider
    or a unique index replaced. #}
{% macro drop_index_on(columns) -%}
do $bi_drop_index$
declare
    superseded text;
begin
    for superseded in
        select indexname from pg_indexes
        where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
          and indexdef like 'CREATE INDEX %USING btree ({{ columns | join(", ") }})'
    loop
        execute format('drop index %I.%I', '{{ this.schema }}', superseded);
    end loop;
end
$bi_drop_index$
{%- endmacro %}
