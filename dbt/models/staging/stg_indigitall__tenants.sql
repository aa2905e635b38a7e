with source as (
    select * from {{ source('indigitall', 'tenants') }}
),

renamed as (
    select
        id::text as tenant_id,
        {{ clean_text('name') }} as tenant_name,
        {{ clean_text('timezone') }} as timezone,
        service_level_seconds::integer as service_level_seconds,
        updated_at
    from source
)

select * from renamed
