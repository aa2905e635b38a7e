with source as (
    select * from {{ source('indigitall', 'contacts') }}
),

renamed as (
    select
        id as contact_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('contact_id') }} as contact_id,
        {{ clean_text('contact_name') }} as contact_name,
        {{ clean_text('channel') }} as channel,
        total_messages,
        total_conversations,
        first_contact as first_contact_date,
        last_contact as last_contact_date,
        source_created_at,
        source_updated_at,
        updated_at
    from source
)

select * from renamed
