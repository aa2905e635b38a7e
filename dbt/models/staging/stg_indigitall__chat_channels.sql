with source as (
    select * from {{ source('indigitall', 'chat_channels') }}
),

renamed as (
    select
        id as channel_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('channel_id') }} as channel_id,
        {{ clean_text('channel_type') }} as channel_type,
        {{ clean_text('channel_name') }} as channel_name,
        {{ clean_text('phone_number') }} as phone_number,
        {{ clean_text('status') }} as status,
        config,
        updated_at
    from source
)

select * from renamed
