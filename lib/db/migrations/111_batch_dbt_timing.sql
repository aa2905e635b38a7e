-- A batch's one dbt build, timed (issue 17): how long it took and its slowest nodes, so a slow batch
-- says whether its tenants' runs or the shared build took the time.
ALTER TABLE ops.pipeline_batches ADD COLUMN IF NOT EXISTS dbt_duration_ms INTEGER;
ALTER TABLE ops.pipeline_batches ADD COLUMN IF NOT EXISTS dbt_metrics JSONB;
