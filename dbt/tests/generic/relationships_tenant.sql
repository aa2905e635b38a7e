{#- Like `relationships`, within a tenant: every non-NULL (tenant_id, column) exists in `to`.
    Keys are unique per tenant only (two tenants may share a message id). -#}
{% test relationships_tenant(model, column_name, to, field, tenant_column='tenant_id') %}
with child as (  -- `model` may be a filtered subquery with its own alias (a test's `where`)
    select * from {{ model }}
)

select child.{{ tenant_column }}, child.{{ column_name }}
from child
left join {{ to }} as parent
    on parent.{{ tenant_column }} = child.{{ tenant_column }}
    and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null
  and parent.{{ field }} is null
{% endtest %}
