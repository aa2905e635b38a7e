-- Supabase's API roles on the PostgREST surface of migration 040, where those roles exist (Supabase, or
-- a cluster given its role shape: deploy/initdb, lib/db/supabase_roles.sql); elsewhere a no-op.
--
-- PostgREST logs in as `authenticator` and, per request, switches to the role of the JWT: this
-- project's `web_anon`, or Supabase's `anon`, `authenticated` and `service_role` (its standard keys).
-- Each of them reads the `api` views exactly as web_anon does and nothing else: the rows come from the
-- api_private functions, which run as api_reader (NOBYPASSRLS), so every role sees the tenant of its
-- JWT claim `tenant_id` and no row without one. service_role's BYPASSRLS does not widen the API.
-- A view exposed by a later migration grants these roles itself (as 040's expose() grants web_anon).
-- Re-runnable.
DO $$
DECLARE
    r text;
    fn regprocedure;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        EXECUTE format('GRANT USAGE ON SCHEMA api, api_private TO %I', r);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA api TO %I', r);
        FOR fn IN
            SELECT p.oid::regprocedure
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'api_private' AND p.proname <> 'expose'
        LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, r);
        END LOOP;
    END LOOP;
END
$$;
