-- Schemas, roles and the helpers every later migration uses.
-- Runs as the owner (the migrating user). Safe to re-run.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS analytics;

-- Application roles: no login of their own, no BYPASSRLS. The application reaches them with
-- SET ROLE from the owner's connection (or logs in as them where an operator gives them a password).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_loader') THEN
        CREATE ROLE bi_loader NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader') THEN
        CREATE ROLE bi_reader NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of this cluster created them concurrently
END
$$;

-- The owner must be able to SET ROLE to both (a superuser already can).
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT bi_loader, bi_reader TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA raw, ops, public, analytics TO bi_loader, bi_reader;

-- Row-level security for one tenant table: enabled, FORCED (the owner obeys it too), one policy
-- reading the tenant from the transaction setting. No setting -> NULL -> no row visible or writable.
CREATE OR REPLACE FUNCTION ops.enable_tenant_rls(tbl regclass, tenant_column text DEFAULT 'tenant_id')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE format('%I.%I', schemaname, tablename)::regclass = tbl AND policyname = 'tenant_isolation'
    ) THEN
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s USING (%I = current_setting(''app.tenant_id'', true)) '
            'WITH CHECK (%I = current_setting(''app.tenant_id'', true))',
            tbl, tenant_column, tenant_column);
    END IF;
END
$$;

-- raw.* is append-only for every role, the owner included.
CREATE OR REPLACE FUNCTION raw.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raw.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Re-extract the window instead: transforms take the latest loaded_at per key.';
END
$$;

CREATE OR REPLACE FUNCTION ops.make_append_only(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS append_only_row ON %s', tbl);
    EXECUTE format('CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION raw.reject_mutation()', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS append_only_truncate ON %s', tbl);
    EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION raw.reject_mutation()', tbl);
END
$$;
