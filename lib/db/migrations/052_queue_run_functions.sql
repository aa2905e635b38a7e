-- The pipeline API (dashboards login, bi_app) queues a run without write access to the ledger: two
-- narrow SECURITY DEFINER functions owned by the owner, fixed search_path, tenant from the caller's
-- transaction (`app.tenant_id`, set by lib.db.tenant_tx). The spawned `bi run` then writes the
-- ledger as the pipeline login.
--   ops.queue_pipeline_run(run_id, mode, params, archive_dir, lib_version) -> true when inserted
--       (status 'queued'; an existing run id is left untouched)
--   ops.set_queued_run_pid(run_id, pid) -> true when the tenant's queued run had no pid yet
CREATE OR REPLACE FUNCTION ops.queue_pipeline_run(
    p_run_id text, p_mode text, p_params jsonb, p_archive_dir text, p_lib_version text
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tenant text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'queue_pipeline_run: no tenant (app.tenant_id) in this transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_mode IS NULL OR p_mode NOT IN ('full', 'transform-only') THEN
        RAISE EXCEPTION 'queue_pipeline_run: mode must be full or transform-only'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_run_id IS NULL OR p_run_id !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$' THEN
        RAISE EXCEPTION 'queue_pipeline_run: bad run id' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status, params, lib_version, archive_dir)
    VALUES (p_run_id, tenant, p_mode, 'queued', p_params, p_lib_version, p_archive_dir)
    ON CONFLICT (run_id) DO NOTHING;
    RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION ops.set_queued_run_pid(p_run_id text, p_pid integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE ops.pipeline_runs SET pid = p_pid
    WHERE run_id = p_run_id AND tenant_id = nullif(current_setting('app.tenant_id', true), '')
      AND status = 'queued' AND pid IS NULL;
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION ops.queue_pipeline_run(text, text, jsonb, text, text),
                       ops.set_queued_run_pid(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.queue_pipeline_run(text, text, jsonb, text, text),
                          ops.set_queued_run_pid(text, integer) TO bi_app;
