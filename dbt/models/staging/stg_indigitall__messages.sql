with source as (
    select * from {{ source('indigitall', 'messages') }}
),

renamed as (
    select
        id as message_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('message_id') }} as message_id,
        "timestamp" as message_ts,
        date as source_date,
        hour::integer as source_hour,
        {{ clean_text('day_of_week') }} as source_day_of_week,
        {{ clean_text('channel') }} as channel,
        {{ clean_text('integration') }} as integration,
        {{ clean_text('send_type') }} as send_type,
        {{ clean_text('direction') }} as direction,
        {{ clean_text('content_type') }} as content_type,
        {{ clean_text('status') }} as status,
        {{ clean_text('contact_id') }} as contact_id,
        {{ clean_text('contact_name') }} as contact_name,
        {{ clean_text('conversation_id') }} as agent_session_id,
        {{ clean_text('agent_id') }} as agent_id,
        {{ clean_text('close_reason') }} as close_reason,
        {{ clean_text('intent') }} as intent,
        coalesce(is_fallback, false) as is_fallback,
        coalesce(is_bot, false) as is_bot,
        coalesce(is_human, false) as is_human,
        message_body,
        wait_time_seconds as source_wait_seconds,
        handle_time_seconds as source_handle_seconds,
        updated_at
    from source
)

select * from renamed
