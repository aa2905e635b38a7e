{#- Post-hook of every model (dbt_project.yml).
    Tables (incl. incremental): enable + FORCE row-level security with the policy
      tenant_id = current_setting('app.tenant_id', true)   (ops.enable_tenant_rls, migrations 001/005),
    then GRANT SELECT to bi_reader for models whose meta says reader_access (the marts).
    Views (staging): security_invoker, so a reader querying them would obey the RLS of public.*;
    they are not granted to bi_reader anyway.
    A rebuilt table is a new relation, so this must run after every build: it does (post-hook). -#}
{% macro apply_tenant_isolation() -%}
    {%- set materialized = config.get('materialized') -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- if materialized in ('table', 'incremental') -%}
        select ops.enable_tenant_rls('{{ this }}'::regclass);
        {% if meta.get('reader_access') -%}
        grant select on {{ this }} to {{ var('reader_role', 'bi_reader') }};
        {%- else -%}
        revoke all on {{ this }} from {{ var('reader_role', 'bi_reader') }};
        {%- endif %}
    {%- elif materialized == 'view' -%}
        alter view {{ this }} set (security_invoker = true);
        revoke all on {{ this }} from {{ var('reader_role', 'bi_reader') }};
    {%- endif -%}
{%- endmacro %}
