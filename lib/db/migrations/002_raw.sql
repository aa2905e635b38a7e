-- raw.*: every API response stored whole, append-only (data model "Esquema RAW").
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw_contacts_api', 'raw_push_stats', 'raw_chat_stats', 'raw_campaigns_api',
                             'raw_applications', 'raw_sms_stats', 'raw_email_stats', 'raw_inapp_stats']
    LOOP
        EXECUTE format($f$
            CREATE TABLE IF NOT EXISTS raw.%1$I (
                id              SERIAL PRIMARY KEY,
                application_id  VARCHAR(100),
                tenant_id       VARCHAR(50) NOT NULL,
                endpoint        VARCHAR(200) NOT NULL,
                loaded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
                date_from       DATE,
                date_to         DATE,
                source_data     JSONB NOT NULL,
                run_id          TEXT,
                request_params  JSONB
            )$f$, t);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %1$I ON raw.%2$I (tenant_id, endpoint, id)',
                       'ix_' || t || '_tenant_endpoint', t);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %1$I ON raw.%2$I (tenant_id, loaded_at)',
                       'ix_' || t || '_tenant_loaded', t);
        PERFORM ops.make_append_only(format('raw.%I', t)::regclass);
        PERFORM ops.enable_tenant_rls(format('raw.%I', t)::regclass);
    END LOOP;
END
$$;

CREATE TABLE IF NOT EXISTS raw.extraction_log (
    id              SERIAL PRIMARY KEY,
    run_id          TEXT,
    tenant_id       VARCHAR(50) NOT NULL,
    application_id  VARCHAR(100),
    endpoint        VARCHAR(200) NOT NULL,
    method          VARCHAR(10) NOT NULL DEFAULT 'GET',
    request_params  JSONB,
    http_status     INTEGER,
    attempt         INTEGER NOT NULL DEFAULT 1,
    duration_ms     INTEGER,
    bytes           BIGINT,
    records         INTEGER,
    error           TEXT,
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    raw_table       TEXT,
    raw_id          INTEGER
);
CREATE INDEX IF NOT EXISTS ix_extraction_log_tenant_run ON raw.extraction_log (tenant_id, run_id);
CREATE INDEX IF NOT EXISTS ix_extraction_log_tenant_started ON raw.extraction_log (tenant_id, started_at);
SELECT ops.make_append_only('raw.extraction_log');
SELECT ops.enable_tenant_rls('raw.extraction_log');

-- The loader appends and reads; nobody updates or deletes (the triggers enforce it for the owner too).
REVOKE ALL ON ALL TABLES IN SCHEMA raw FROM bi_loader, bi_reader;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA raw TO bi_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw TO bi_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO bi_reader;
