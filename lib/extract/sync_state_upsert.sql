-- The state of each entity touched by a batch; the cursor is computed by the caller (never past
-- the sync start, only over successes); last_sync_at is kept until a run succeeds.
INSERT INTO public.sync_state AS s (
    tenant_id, entity, last_cursor, last_sync_at, records_synced, status, last_error, updated_at
)
VALUES %s
ON CONFLICT (tenant_id, entity) DO UPDATE SET
    last_cursor    = EXCLUDED.last_cursor,
    last_sync_at   = COALESCE(EXCLUDED.last_sync_at, s.last_sync_at),
    records_synced = EXCLUDED.records_synced,
    status         = EXCLUDED.status,
    last_error     = EXCLUDED.last_error,
    updated_at     = EXCLUDED.updated_at
-- Batches commit on parallel connections: an older state never overwrites a newer one.
WHERE s.updated_at <= EXCLUDED.updated_at
