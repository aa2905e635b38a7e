-- public.data_coverage: the complete local days of an entity. A run's interval joins the stored one
-- when they overlap or touch; a detached interval (an explicit range away from the loaded days)
-- leaves the stored one as it is, so a day is never called complete without being loaded.
INSERT INTO public.data_coverage AS c (
    tenant_id, entity, complete_from, complete_to, loaded_through, updated_at
)
VALUES %s
ON CONFLICT (tenant_id, entity) DO UPDATE SET
    complete_from = CASE
        WHEN c.complete_from IS NULL THEN EXCLUDED.complete_from
        WHEN EXCLUDED.complete_from IS NOT NULL AND EXCLUDED.complete_from <= c.complete_to + 1
             AND EXCLUDED.complete_to >= c.complete_from - 1 THEN least(c.complete_from, EXCLUDED.complete_from)
        ELSE c.complete_from END,
    complete_to = CASE
        WHEN c.complete_from IS NULL THEN EXCLUDED.complete_to
        WHEN EXCLUDED.complete_from IS NOT NULL AND EXCLUDED.complete_from <= c.complete_to + 1
             AND EXCLUDED.complete_to >= c.complete_from - 1 THEN greatest(c.complete_to, EXCLUDED.complete_to)
        ELSE c.complete_to END,
    loaded_through = CASE
        WHEN c.complete_from IS NULL OR EXCLUDED.complete_from IS NULL
             OR (EXCLUDED.complete_from <= c.complete_to + 1 AND EXCLUDED.complete_to >= c.complete_from - 1)
            THEN greatest(c.loaded_through, EXCLUDED.loaded_through)
        ELSE c.loaded_through END,
    updated_at = EXCLUDED.updated_at
-- Batches commit on parallel connections: an older row never overwrites a newer one.
WHERE c.updated_at <= EXCLUDED.updated_at
