-- A year of operation (issue 15): skipped steps with their reason, the state of each run's archive
-- (retention may move or prune it while the ledger keeps the run), the fingerprint of each step's
-- inputs at its last success (skip work whose inputs did not change), the time zone each transform
-- last ran with (a change forces its full refresh), and the reaper of runs whose process is gone.
ALTER TABLE ops.pipeline_steps ADD COLUMN IF NOT EXISTS reason TEXT;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS archive_state VARCHAR(20) NOT NULL DEFAULT 'local';
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS archive_location TEXT;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS archive_bytes BIGINT;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS archived_at TIMESTAMPTZ;
ALTER TABLE ops.transform_state ADD COLUMN IF NOT EXISTS timezone TEXT;

CREATE TABLE IF NOT EXISTS ops.step_state (
    tenant_id     TEXT NOT NULL,
    step          TEXT NOT NULL,
    fingerprint   JSONB NOT NULL,
    run_id        TEXT,
    succeeded_at  TIMESTAMPTZ NOT NULL,
    full_at       TIMESTAMPTZ,          -- dbt: the last build of every model (the daily full build)
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_step_state PRIMARY KEY (tenant_id, step)
);
SELECT ops.enable_tenant_rls('ops.step_state');
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.step_state TO bi_loader;
GRANT SELECT ON ops.step_state TO bi_app;

-- The run lock's key (lib.pipeline.lock): class 0x0B10001, object = 31 bits of md5(tenant id).
CREATE OR REPLACE FUNCTION ops.run_lock_key(p_tenant text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (('x' || substr(md5(p_tenant), 1, 8))::bit(32)::integer) & 2147483647
$$;

-- Runs of the session's tenant (app.tenant_id) whose process is gone: running while nobody holds the
-- tenant's run lock (a runner holds it for the whole run), or queued for longer than the grace.
-- They end `failed` ("proceso terminado"), their running steps failed and pending ones skipped.
-- SECURITY DEFINER so the read-only logins (dashboards API) can reap; it can only end dead runs.
CREATE OR REPLACE FUNCTION ops.reap_dead_runs(p_queued_grace_s integer DEFAULT 120)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ops AS $$
DECLARE
    t text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    IF t IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = 11599873::oid AND objid = ops.run_lock_key(t)::oid AND objsubid = 2
    ) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH dead AS (
        UPDATE ops.pipeline_runs r
        SET status = 'failed', finished_at = coalesce(r.finished_at, now()),
            error = coalesce(r.error, 'proceso terminado: el proceso de la ejecución ya no existe')
        WHERE r.tenant_id = t
          AND (r.status = 'running'
               OR (r.status = 'queued' AND r.created_at < now() - make_interval(secs => p_queued_grace_s)))
        RETURNING r.run_id
    ), steps AS (
        UPDATE ops.pipeline_steps s
        SET status = CASE s.status WHEN 'running' THEN 'failed' ELSE 'skipped' END,
            error_name = CASE s.status WHEN 'running' THEN 'ProcessGone' ELSE s.error_name END,
            error_message = CASE s.status WHEN 'running' THEN 'proceso terminado' ELSE s.error_message END,
            reason = coalesce(s.reason, 'proceso terminado')
        FROM dead
        WHERE s.run_id = dead.run_id AND s.tenant_id = t AND s.status IN ('pending', 'running')
        RETURNING s.run_id
    )
    SELECT dead.run_id FROM dead;
END
$$;
REVOKE ALL ON FUNCTION ops.reap_dead_runs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.reap_dead_runs(integer) TO bi_loader, bi_app;
GRANT EXECUTE ON FUNCTION ops.run_lock_key(text) TO bi_loader, bi_app;
