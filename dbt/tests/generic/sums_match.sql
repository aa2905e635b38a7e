{#- Σ column over the model equals Σ compare_column over compare_model, per tenant
    (e.g. a mart's total = its fact's total). -#}
{% test sums_match(model, column_name, compare_model, compare_expression) %}
with mine as (
    select tenant_id, sum({{ column_name }})::numeric as total from {{ model }} group by 1
),
theirs as (
    select tenant_id, sum({{ compare_expression }})::numeric as total from {{ compare_model }} group by 1
)
select coalesce(mine.tenant_id, theirs.tenant_id) as tenant_id, mine.total as model_total,
       theirs.total as compare_total
from mine
full outer join theirs on theirs.tenant_id = mine.tenant_id
where coalesce(mine.total, 0) <> coalesce(theirs.total, 0)
{% endtest %}
