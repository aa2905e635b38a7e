with source as (
    select * from {{ source('indigitall', 'toques_heatmap') }}
),

renamed as (
    select
        id as heatmap_pk,
        tenant_id::text as tenant_id,
        lower({{ clean_text('canal') }}) as canal,
        lower({{ clean_text('dia_semana') }}) as weekday,
        dia_orden::integer as weekday_num,
        hora::integer as hour,
        ctr,
        updated_at
    from source
)

select * from renamed
