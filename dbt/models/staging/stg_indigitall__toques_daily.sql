with source as (
    select * from {{ source('indigitall', 'toques_daily') }}
),

renamed as (
    select
        id as toques_daily_pk,
        tenant_id::text as tenant_id,
        date as stats_date,
        lower({{ clean_text('canal') }}) as platform,
        {{ clean_text('proyecto_cuenta') }} as application_id,
        coalesce(enviados, 0) as sent,
        coalesce(entregados, 0) as delivered,
        coalesce(abiertos, 0) as opened,
        coalesce(clicks, 0) as clicks,
        ctr as source_ctr,
        tasa_entrega as source_delivery_rate,
        open_rate as source_open_rate,
        updated_at
    from source
)

select * from renamed
