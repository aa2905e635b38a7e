{#- The chat chain's incremental models (int_messages__sessionized -> fct_messages, int_conversations)
    pass work downstream by a build stamp: every row a build (re)writes carries `built_at`, the dbt
    invocation's start (`bi_build_stamp`), and a model downstream re-reads only the rows stamped after
    its own newest stamp. The stamp is the same for every row of one invocation and grows with each
    invocation (builds are serialised: lib/dbt_runner.py _build_lock). -#}
{% macro bi_build_stamp() -%}
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz
{%- endmacro %}

{#- The newest build stamp in `relation` as a literal (`'…'::timestamptz`; '-infinity' when it has no
    row), read when the node runs. A filter `built_at > <literal>` lets the planner take the built_at
    index to the few rows of the last build; against the subquery it plans for a third of the table and
    scans all of it. The subquery itself while dbt parses. -#}
{% macro bi_newest_stamp(relation) -%}
    {%- set newest -%}
        (select coalesce(max(built_at), '-infinity'::timestamptz) from {{ relation }})
    {%- endset -%}
    {%- if not execute -%}
        {{ return(newest) }}
    {%- endif -%}
    {%- set found = run_query(
        "select case when max(built_at) is null then '-infinity'"
        ~ " else to_char(max(built_at) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' end"
        ~ " from " ~ relation) -%}
    {{ return("'" ~ found.columns[0].values()[0] ~ "'::timestamptz") }}
{%- endmacro %}

{#- The margin an incremental model re-reads before its watermark (var incremental_lookback_minutes). -#}
{% macro bi_lookback() -%}
    interval '{{ var("incremental_lookback_minutes") }} minutes'
{%- endmacro %}

{#- int_conversations' incremental bookkeeping: what its incremental branch needs from the table it
    holds, and what fct_conversations leaves out. -#}
{% macro bi_conversation_bookkeeping() -%}
    {{ return(['contact_key', 'built_at', 'sessions_updated_at', 'closes_at', 'computed_at']) }}
{%- endmacro %}

{#- True when `relation` (usually `this`) has every column of `names`: a table built before a model
    became incremental (or before it carried these columns) is rebuilt in full once. -#}
{% macro bi_has_columns(relation, names) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set have = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- for name in names -%}
        {%- if name not in have -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#- Pre-hook of a model whose delete+insert key is a column the existing table may lack (it was built
    by an older version): such a table is emptied first, the model then emits every row (its
    incremental branch needs the columns too: `bi_has_columns`), so no row of the old shape survives
    with a NULL key that no delete would match. -#}
{% macro bi_reset_without_columns(names) -%}
    {%- if execute and is_incremental() and not bi_has_columns(this, names) -%}
        truncate table {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The columns of `relation` but `names` (quoted, comma-separated): a mart that exposes an
    intermediate model without its incremental bookkeeping. `*` while parsing, or before `relation`
    exists. -#}
{% macro bi_columns_except(relation, names) -%}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set kept = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower not in names -%}
        {%- do kept.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return(kept | join(', ') if kept else '*') }}  {#- not built yet (dbt compile on an empty database) #}
{%- endmacro %}
