-- ops.*: the pipeline run ledger (filled by lib.pipeline) and per-tenant transform watermarks.
CREATE TABLE IF NOT EXISTS ops.pipeline_runs (
    run_id       TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    mode         VARCHAR(20) NOT NULL,
    status       VARCHAR(20) NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'success', 'failed')),
    params       JSONB,
    git_commit   TEXT,
    lib_version  TEXT,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    duration_ms  INTEGER,
    error        TEXT,
    archive_dir  TEXT,
    pid          INTEGER,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_pipeline_runs_tenant_created ON ops.pipeline_runs (tenant_id, created_at DESC);

CREATE TABLE IF NOT EXISTS ops.pipeline_steps (
    id             SERIAL PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES ops.pipeline_runs (run_id),
    tenant_id      TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    step           TEXT NOT NULL,
    kind           VARCHAR(20),
    status         VARCHAR(20) NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'success', 'failed', 'skipped')),
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    duration_ms    INTEGER,
    rows_in        INTEGER,
    rows_out       INTEGER,
    rejects        INTEGER,
    metrics        JSONB,
    error_name     TEXT,
    error_message  TEXT,
    error_cell     INTEGER,
    notebook_path  TEXT,
    html_path      TEXT,
    CONSTRAINT uq_pipeline_steps_run_step UNIQUE (run_id, step)
);

SELECT ops.enable_tenant_rls('ops.pipeline_runs');
SELECT ops.enable_tenant_rls('ops.pipeline_steps');
GRANT SELECT, INSERT, UPDATE ON ops.pipeline_runs, ops.pipeline_steps TO bi_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ops TO bi_loader;
GRANT SELECT ON ops.pipeline_runs, ops.pipeline_steps TO bi_reader;
