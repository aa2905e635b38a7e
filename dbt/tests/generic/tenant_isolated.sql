{#- The relation has row-level security enabled AND forced, with the tenant_isolation policy
    (applied by the apply_tenant_isolation post-hook). Returns a row when it does not. -#}
{% test tenant_isolated(model) %}
select c.relname
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = '{{ model.schema }}'
  and c.relname = '{{ model.identifier }}'
  and not (
    c.relrowsecurity
    and c.relforcerowsecurity
    and exists (
        select 1 from pg_policies p
        where p.schemaname = n.nspname and p.tablename = c.relname and p.policyname = 'tenant_isolation'
    )
  )
{% endtest %}
