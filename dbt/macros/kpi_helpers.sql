{#- Percent with 2 decimals, NULL when the denominator is 0 (KPI convention: Σnum ÷ Σden). -#}
{% macro pct(numerator, denominator) -%}
    round(100.0 * ({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0), 2)
{%- endmacro %}

{#- Seconds between two timestamps (double precision), NULL when either is NULL. -#}
{% macro seconds_between(start_ts, end_ts) -%}
    extract(epoch from (({{ end_ts }}) - ({{ start_ts }})))::double precision
{%- endmacro %}

{#- A tenant's IANA time zone from stg_indigitall__tenants, with the project default. -#}
{% macro tenant_tz(tz_column) -%}
    coalesce({{ tz_column }}, '{{ var("default_timezone") }}')
{%- endmacro %}

{#- Spanish weekday name from ISO weekday number (1 = lunes). -#}
{% macro weekday_name_es(isodow) -%}
    (array['lunes','martes','miércoles','jueves','viernes','sábado','domingo'])[{{ isodow }}]
{%- endmacro %}

{#- Empty / blank text -> NULL, trimmed. -#}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}::text), '')
{%- endmacro %}

{#- True for a welcome / greeting intent (var welcome_intents, plus names that say so): such intents
    open nearly every conversation, so Paretos and routes skip them. -#}
{% macro is_welcome_intent(column) -%}
    ({{ column }} in ({%- for w in var('welcome_intents') -%}'{{ w }}'{{ ", " if not loop.last }}{%- endfor -%})
     or {{ column }} ilike '%welcome%' or {{ column }} ilike '%bienvenida%' or {{ column }} ilike '%saludo%')
{%- endmacro %}
