-- Raw layer v2 (issue 16; owner: lib.extract). Additive only: old rows keep their meaning.
-- 1. response_sha256 on every raw table: the SHA-256 (hex) of the response bytes as the API sent them.
--    An identical re-read of the same request (tenant, endpoint, application, request params) is not
--    stored again: its extraction_log row points at the raw row it repeats (repeated = true).
-- 2. public.data_coverage: which local days of an entity are completely loaded (contract with kpi-ux).
-- 3. ops.raw_text(): the public text of a raw string value (see lib/extract/escape.py).

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw_contacts_api', 'raw_push_stats', 'raw_chat_stats', 'raw_campaigns_api',
                             'raw_applications', 'raw_sms_stats', 'raw_email_stats', 'raw_inapp_stats']
    LOOP
        EXECUTE format('ALTER TABLE raw.%I ADD COLUMN IF NOT EXISTS response_sha256 TEXT', t);
        -- The dedup lookup: the latest stored response of the same request.
        EXECUTE format('CREATE INDEX IF NOT EXISTS %1$I ON raw.%2$I (tenant_id, endpoint, request_params, id)',
                       'ix_' || t || '_request', t);
    END LOOP;
END
$$;

ALTER TABLE raw.extraction_log ADD COLUMN IF NOT EXISTS response_sha256 TEXT;
-- true: the response equals the one stored in raw_table/raw_id, so it was not stored again.
ALTER TABLE raw.extraction_log ADD COLUMN IF NOT EXISTS repeated BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS public.data_coverage (
    id              SERIAL PRIMARY KEY,
    tenant_id       VARCHAR(50) NOT NULL,
    entity          VARCHAR(100) NOT NULL,
    complete_from   DATE,          -- tenant-local dates from complete_from to complete_to are complete
    complete_to     DATE,
    loaded_through  TIMESTAMPTZ,   -- the source has been read through this instant
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_data_coverage UNIQUE (tenant_id, entity)
);
SELECT ops.enable_tenant_rls('public.data_coverage');
-- Grants: none here. ops.apply_login_grants() (run after every migrate, migration 050) gives a public
-- tenant table its grants: pipeline writes, app/analyst read, dbt reads.

-- The public text of a raw string value. Strings the API sent that PostgreSQL cannot hold (U+0000, a
-- lone surrogate, bytes that are not UTF-8) are stored as U+E000 followed by the value with those
-- bytes and '%' written %XX; raw_text turns '%25' back into '%' and every other byte into U+FFFD.
-- A plain SQL function: inlined into the transforms, a single prefix test for ordinary values.
CREATE OR REPLACE FUNCTION ops.raw_text(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s ^@ chr(57344)
                THEN replace(regexp_replace(substr(s, 2), '%(?!25)[0-9A-F]{2}', chr(65533), 'g'), '%25', '%')
                ELSE s END
$$;
