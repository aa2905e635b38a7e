with source as (
    select * from {{ source('indigitall', 'chat_conversations') }}
),

renamed as (
    select
        id as session_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('session_id') }} as session_id,
        {{ clean_text('conversation_session_id') }} as conversation_session_id,
        {{ clean_text('initial_session_id') }} as initial_session_id,
        {{ clean_text('contact_id') }} as contact_id,
        {{ clean_text('agent_id') }} as agent_id,
        lower({{ clean_text('agent_email') }}) as agent_email,
        {{ clean_text('channel') }} as channel,
        queued_at,
        assigned_at,
        closed_at,
        wait_time_seconds as source_wait_seconds,
        handle_time_seconds as source_handle_seconds,
        updated_at
    from source
)

select * from renamed
