with source as (
    select * from {{ source('indigitall', 'sync_state') }}
),

renamed as (
    select
        id as sync_state_pk,
        tenant_id::text as tenant_id,
        {{ clean_text('entity') }} as entity,
        last_cursor,
        last_sync_at,
        records_synced,
        {{ clean_text('status') }} as status,
        last_error,
        updated_at
    from source
)

select * from renamed
