with source as (
    select * from {{ source('indigitall', 'campaigns') }}
),

renamed as (
    select
        id as campaign_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('campana_id') }} as campaign_id,
        {{ clean_text('campana_nombre') }} as campaign_name,
        lower({{ clean_text('canal') }}) as channel,
        lower({{ clean_text('tipo_campana') }}) as status,
        {{ clean_text('application_id') }} as application_id,
        coalesce(total_enviados, 0) as sent,
        coalesce(total_entregados, 0) as delivered,
        coalesce(total_abiertos, 0) as opened,
        coalesce(total_clicks, 0) as clicks,
        fecha_inicio as start_date,
        fecha_fin as end_date,
        ctr as source_ctr,
        updated_at
    from source
)

select * from renamed
