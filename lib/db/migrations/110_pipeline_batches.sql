-- Batches (issue 17): one `bi run --all-tenants` (or `"tenant": "*"`/a list on the API) runs many
-- tenants; each tenant keeps its own run in ops.pipeline_runs (RLS by tenant, now with batch_id) and
-- the batch row says which tenants it covered, how the one dbt build went and which tenants failed.
-- The batch row holds no tenant data (ids and statuses only) and is not a tenant table: the pipeline
-- login writes it, the app login (the token-protected API) reads it; viewers' pages never query it.
CREATE TABLE IF NOT EXISTS ops.pipeline_batches (
    batch_id     TEXT PRIMARY KEY,
    mode         VARCHAR(20) NOT NULL,
    tenants      JSONB NOT NULL,
    status       VARCHAR(20) NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'success', 'failed')),
    dbt_status   VARCHAR(20),
    results      JSONB,
    error        TEXT,
    pid          INTEGER,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    duration_ms  INTEGER,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_pipeline_batches_created ON ops.pipeline_batches (created_at DESC);

ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS batch_id TEXT;
CREATE INDEX IF NOT EXISTS ix_pipeline_runs_tenant_batch ON ops.pipeline_runs (tenant_id, batch_id);

GRANT SELECT, INSERT, UPDATE ON ops.pipeline_batches TO bi_loader;
GRANT SELECT ON ops.pipeline_batches TO bi_app;

-- The API (app login) queues a batch without write access to the table.
CREATE OR REPLACE FUNCTION ops.queue_pipeline_batch(p_batch_id text, p_mode text, p_tenants jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_mode IS NULL OR p_mode NOT IN ('full', 'transform-only') THEN
        RAISE EXCEPTION 'queue_pipeline_batch: mode must be full or transform-only'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_batch_id IS NULL OR p_batch_id !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$' THEN
        RAISE EXCEPTION 'queue_pipeline_batch: bad batch id' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_tenants) IS DISTINCT FROM 'array' OR jsonb_array_length(p_tenants) = 0 THEN
        RAISE EXCEPTION 'queue_pipeline_batch: tenants must be a non-empty array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO ops.pipeline_batches (batch_id, mode, tenants, status)
    VALUES (p_batch_id, p_mode, p_tenants, 'queued')
    ON CONFLICT (batch_id) DO NOTHING;
    RETURN FOUND;
END
$$;
REVOKE ALL ON FUNCTION ops.queue_pipeline_batch(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.queue_pipeline_batch(text, text, jsonb) TO bi_app;
