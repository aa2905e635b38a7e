{#- Like `relationships`, within a tenant: every non-NULL (tenant_id, column) exists in `to`.
    Keys are unique per tenant only (two tenants may share a message id). -#}
{% test relationships_tenant(model, column_name, to, field, tenant_column='tenant_id') %}
select child.{{ tenant_column }}, child.{{ column_name }}
from {{ model }} as child
left join {{ to }} as parent
    on parent.{{ tenant_column }} = child.{{ tenant_column }}
    and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null
  and parent.{{ field }} is null
{% endtest %}
