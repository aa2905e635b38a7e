with source as (
    select * from {{ source('indigitall', 'daily_stats') }}
),

renamed as (
    select
        id as daily_stats_pk,
        tenant_id::text as tenant_id,
        date as stats_date,
        total_messages,
        chat_messages,
        push_enviados as push_sent,
        unique_contacts,
        conversations,
        fallback_count,
        updated_at
    from source
)

select * from renamed
