with source as (
    select * from {{ source('indigitall', 'tenants') }}
),

renamed as (
    select
        id::text as tenant_id,
        {{ clean_text('name') }} as tenant_name,
        {{ clean_text('timezone') }} as timezone,
        updated_at
    from source
)

select * from renamed
