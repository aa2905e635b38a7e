with source as (
    select * from {{ source('indigitall', 'agents') }}
),

renamed as (
    select
        id as agent_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('agent_id') }} as agent_id,
        lower({{ clean_text('agent_email') }}) as agent_email,
        total_messages,
        conversations_handled,
        avg_handle_time_seconds,
        updated_at
    from source
)

select * from renamed
