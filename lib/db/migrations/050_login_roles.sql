-- One database login per kind of process (design.md "One database login per kind of process").
--
-- Privileges are held by NOLOGIN group roles; each login (its name and password come from its URL,
-- or are generated on the embedded default: lib/db/logins.py) is a plain LOGIN role, member of one
-- group, never SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS:
--   bi_reader   read shared by the dashboards and the analysts: public.* and the marts (dbt grants
--               the marts to it after each build), always under row-level security
--   bi_app      APP_DATABASE_URL (dashboards + pipeline API): bi_reader, the run ledger, the sign-in
--               and queue-a-run functions (051, 052)
--   bi_analyst  ANALYST_DATABASE_URL (Voila/Lab kernels): bi_reader and nothing else
--   bi_loader   PIPELINE_DATABASE_URL (steps + ledger): append raw, write public, ledger, transform state
--   bi_dbt      DBT_DATABASE_URL (mart builder): read raw + public, create/replace in analytics
-- The mart builder does not bypass RLS (on PostgreSQL 15 only a superuser may create a BYPASSRLS role,
-- and Supabase's `postgres` is not one): a permissive policy `mart_builder` for bi_dbt alone lets it
-- read every tenant of raw/public and write the marts; RLS stays forced for everyone else.
-- ops.apply_login_grants() (below) is re-applied by lib/db/migrate.py at the end of every migration
-- run, so tables added by later migrations get the same grants and policies.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['bi_app', 'bi_analyst', 'bi_dbt'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database of this cluster created it concurrently
            END;
        END IF;
    END LOOP;
END
$$;

-- Group hierarchy: bi_app and bi_analyst read what bi_reader reads. The owner (when it is not a
-- superuser, as on Supabase) must be a member of bi_dbt to hand it the marts (ALTER ... OWNER TO).
CREATE OR REPLACE FUNCTION ops.grant_role_once(grp text, who text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_auth_members m
        WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = grp)
          AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = who)
    ) THEN
        EXECUTE format('GRANT %I TO %I', grp, who);
    END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;  -- granted concurrently
END
$$;
REVOKE ALL ON FUNCTION ops.grant_role_once(text, text) FROM PUBLIC;

SELECT ops.grant_role_once('bi_reader', 'bi_app');
SELECT ops.grant_role_once('bi_reader', 'bi_analyst');
DO $$
DECLARE
    r text;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        FOREACH r IN ARRAY ARRAY['bi_app', 'bi_analyst', 'bi_dbt'] LOOP
            PERFORM ops.grant_role_once(r, current_user);
        END LOOP;
    END IF;
END
$$;

-- The mart builder's policy on one tenant table: SELECT on raw/public, everything on its analytics
-- tables (incremental models read and merge into themselves). Idempotent; a no-op elsewhere.
CREATE OR REPLACE FUNCTION ops.grant_mart_builder(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    nsp text := (SELECT n.nspname FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl);
BEGIN
    IF nsp NOT IN ('raw', 'public', 'analytics')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = tbl AND polname = 'mart_builder') THEN
        RETURN;
    END IF;
    IF nsp = 'analytics' THEN
        EXECUTE format('CREATE POLICY mart_builder ON %s FOR ALL TO bi_dbt USING (true) WITH CHECK (true)', tbl);
    ELSE
        EXECUTE format('CREATE POLICY mart_builder ON %s FOR SELECT TO bi_dbt USING (true)', tbl);
    END IF;
END
$$;

-- The RLS helper (001/005) now also gives the mart builder its policy, so a table made by a later
-- migration, or a mart dbt rebuilds (post-hook apply_tenant_isolation), gets it at once.
CREATE OR REPLACE FUNCTION ops.enable_tenant_rls(tbl regclass, tenant_column text DEFAULT 'tenant_id')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = tbl AND polname = 'tenant_isolation'
    ) THEN
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s USING (%I = current_setting(''app.tenant_id'', true)) '
            'WITH CHECK (%I = current_setting(''app.tenant_id'', true))',
            tbl, tenant_column, tenant_column);
    END IF;
    PERFORM ops.grant_mart_builder(tbl);
END
$$;

-- Every grant of the login groups, from the catalog as it is now. Run as the owner by every
-- `bi db migrate` after the migration files (lib/db/migrate.py). Rules (docs/contracts.md):
--   raw.*       bi_loader SELECT+INSERT (append-only triggers stop the rest), bi_dbt SELECT; nobody else
--   public.*    bi_reader SELECT, bi_loader SELECT/INSERT/UPDATE/DELETE, bi_dbt SELECT
--   ops.*       only what a migration grants explicitly (to bi_loader / bi_app); a grant to bi_reader
--               there is moved to bi_app (analysts never read ops); ops.dashboard_users to nobody
--   analytics   owned by bi_dbt (CREATE on the schema); marts granted to bi_reader by dbt
--   no CREATE on any schema for the application logins, no TRUNCATE/REFERENCES/TRIGGER anywhere
CREATE OR REPLACE FUNCTION ops.apply_login_grants() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    priv text;
    apps constant text := 'bi_reader, bi_app, bi_analyst, bi_loader, bi_dbt';
BEGIN
    -- schemas
    EXECUTE 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';
    EXECUTE format('REVOKE CREATE ON SCHEMA raw, public, ops, analytics FROM %s', apps);
    EXECUTE 'REVOKE ALL ON SCHEMA raw, ops FROM bi_reader, bi_analyst';
    EXECUTE 'GRANT USAGE ON SCHEMA public, analytics TO bi_reader';
    EXECUTE 'GRANT USAGE ON SCHEMA ops TO bi_app';
    EXECUTE 'GRANT USAGE ON SCHEMA raw, public, ops TO bi_loader';
    EXECUTE 'GRANT USAGE ON SCHEMA raw, public, ops TO bi_dbt';  -- ops: the RLS helper of its post-hook
    EXECUTE 'GRANT USAGE, CREATE ON SCHEMA analytics TO bi_dbt';

    -- tables, views and sequences of raw, public, ops that the owner controls
    FOR r IN
        SELECT c.oid::regclass AS rel, n.nspname AS nsp, c.relkind AS kind
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('raw', 'public', 'ops') AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
    LOOP
        IF r.kind = 'S' THEN
            EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, bi_reader, bi_app, bi_analyst, bi_dbt', r.rel);
            IF r.nsp IN ('raw', 'public') THEN
                EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO bi_loader', r.rel);
            ELSIF r.rel::text = 'ops.dashboard_users_id_seq' THEN
                EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM bi_loader', r.rel);
            END IF;
            CONTINUE;
        END IF;
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON %s FROM PUBLIC, %s', r.rel, apps);
        IF r.nsp = 'raw' THEN
            EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, bi_reader, bi_app, bi_analyst', r.rel);
            EXECUTE format('REVOKE UPDATE, DELETE ON %s FROM bi_loader, bi_dbt', r.rel);
            EXECUTE format('GRANT SELECT, INSERT ON %s TO bi_loader', r.rel);
            EXECUTE format('GRANT SELECT ON %s TO bi_dbt', r.rel);
        ELSIF r.nsp = 'public' THEN
            EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, bi_app, bi_analyst', r.rel);
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %s FROM bi_reader, bi_dbt', r.rel);
            EXECUTE format('GRANT SELECT ON %s TO bi_reader, bi_dbt', r.rel);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO bi_loader', r.rel);
        ELSE  -- ops
            FOR priv IN
                SELECT DISTINCT a.privilege_type
                FROM pg_catalog.pg_class c, LATERAL aclexplode(c.relacl) AS a
                WHERE c.oid = r.rel AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'bi_reader')
                  AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
            LOOP
                EXECUTE format('GRANT %s ON %s TO bi_app', priv, r.rel);
            END LOOP;
            EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, bi_reader, bi_analyst, bi_dbt', r.rel);
            IF r.rel::text = 'ops.dashboard_users' THEN
                EXECUTE format('REVOKE ALL ON %s FROM %s', r.rel, apps);
            END IF;
        END IF;
        IF r.kind IN ('r', 'p') AND r.nsp IN ('raw', 'public')
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = r.rel AND polname = 'tenant_isolation') THEN
            PERFORM ops.grant_mart_builder(r.rel);
        END IF;
    END LOOP;

    -- analytics: hand what the owner built (dbt as the owner, before these logins) to bi_dbt, so the
    -- mart builder can replace it; its tenant tables get the builder's policy.
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind AS kind, c.relowner
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'analytics' AND c.relkind IN ('r', 'p', 'v', 'm')
          AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
    LOOP
        IF r.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'bi_dbt') THEN
            EXECUTE format('ALTER %s %s OWNER TO bi_dbt',
                           CASE r.kind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                           r.rel);
        END IF;
        IF r.kind IN ('r', 'p')
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = r.rel AND polname = 'tenant_isolation') THEN
            PERFORM ops.grant_mart_builder(r.rel);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION ops.apply_login_grants() FROM PUBLIC;
REVOKE ALL ON FUNCTION ops.grant_mart_builder(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.grant_mart_builder(regclass) TO bi_dbt;

-- What the dashboards read of the ledger (moved here from bi_reader: analysts do not read ops); the
-- transform bookkeeping is the pipeline's alone.
GRANT SELECT ON ops.pipeline_runs, ops.pipeline_steps TO bi_app;
REVOKE ALL ON ops.transform_state, ops.transform_dirty FROM bi_reader;

SELECT ops.apply_login_grants();
