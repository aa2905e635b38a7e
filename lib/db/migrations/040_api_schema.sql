-- PostgREST surface: schema `api` holds only security_invoker views over the aggregated marts.
--
-- Roles
--   web_anon      NOLOGIN, NOBYPASSRLS: PostgREST's anonymous role (PGRST_DB_ANON_ROLE). It has no
--                 privilege on any table; it may read the api views and nothing else.
--   api_reader    NOLOGIN, NOBYPASSRLS, member of bi_reader: owns the SECURITY DEFINER row sources
--                 in api_private, so the marts' row-level security (FORCEd) still applies.
--   authenticator NOINHERIT: the role PostgREST logs in as (LOGIN + password are set by the deployment,
--                 never here); it can only switch to web_anon.
-- Tenant
--   Every mart has RLS on tenant_id = current_setting('app.tenant_id', true). PostgREST runs
--   api_private.pre_request() (PGRST_DB_PRE_REQUEST) which copies the JWT claim `tenant_id` into
--   app.tenant_id; no JWT / no claim -> '' -> no rows.
-- Why functions: dbt rebuilds a table mart as a new relation (and drops the old one CASCADE), so a view
-- straight over analytics.* would vanish at every build. The views read set-returning functions that
-- resolve the mart at call time (empty before the first build) and cast to a stable column contract.
-- Re-runnable; PostgreSQL 15+ (security_invoker).

CREATE SCHEMA IF NOT EXISTS api;
CREATE SCHEMA IF NOT EXISTS api_private;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_anon') THEN
        CREATE ROLE web_anon NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'api_reader') THEN
        CREATE ROLE api_reader NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
        CREATE ROLE authenticator NOLOGIN NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of this cluster created them concurrently
END
$$;

GRANT bi_reader TO api_reader;
GRANT web_anon TO authenticator;
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT api_reader, web_anon TO %I', current_user);
    END IF;
END
$$;

REVOKE ALL ON SCHEMA api_private FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA api_private TO api_reader;
GRANT USAGE ON SCHEMA api, api_private TO web_anon;
GRANT USAGE ON SCHEMA analytics TO api_reader;

-- Tenant from the JWT claim (PostgREST pre-request hook).
CREATE OR REPLACE FUNCTION api_private.pre_request() RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog AS $$
DECLARE
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
BEGIN
    PERFORM set_config('app.tenant_id', coalesce(claims ->> 'tenant_id', ''), true);
END
$$;
REVOKE ALL ON FUNCTION api_private.pre_request() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_private.pre_request() TO web_anon, authenticator;

-- expose(mart, columns): api_private.<mart>() (definer api_reader, casts to `columns`) + api.<mart> view.
CREATE OR REPLACE FUNCTION api_private.expose(mart text, cols text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    decl text;
    sel  text;
BEGIN
    SELECT string_agg(format('%I %s', split_part(c, ' ', 1), substr(c, strpos(c, ' ') + 1)), ', '),
           string_agg(format('m.%I::%s', split_part(c, ' ', 1), substr(c, strpos(c, ' ') + 1)), ', ')
      INTO decl, sel
      FROM unnest(cols) AS c;
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION api_private.%1$I() RETURNS TABLE (%2$s)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $body$
        BEGIN
            IF to_regclass('analytics.%1$s') IS NULL THEN
                RETURN;  -- dbt has not built this mart yet
            END IF;
            RETURN QUERY EXECUTE 'SELECT %3$s FROM analytics.%1$I AS m';
        END
        $body$ $f$, mart, decl, replace(sel, '''', ''''''));
    EXECUTE format('ALTER FUNCTION api_private.%I() OWNER TO api_reader', mart);
    EXECUTE format('REVOKE ALL ON FUNCTION api_private.%I() FROM PUBLIC', mart);
    EXECUTE format('GRANT EXECUTE ON FUNCTION api_private.%I() TO web_anon', mart);
    EXECUTE format('CREATE OR REPLACE VIEW api.%1$I WITH (security_invoker = true) AS '
                   'SELECT * FROM api_private.%1$I()', mart);
    EXECUTE format('REVOKE ALL ON api.%I FROM PUBLIC', mart);
    EXECUTE format('GRANT SELECT ON api.%I TO web_anon', mart);
END
$$;
REVOKE ALL ON FUNCTION api_private.expose(text, text[]) FROM PUBLIC;

SELECT api_private.expose('mart_daily_kpis', ARRAY[
    'tenant_id text', 'date date', 'channel text', 'messages bigint', 'inbound_messages bigint',
    'bot_messages bigint', 'agent_messages bigint', 'system_messages bigint', 'outbound_messages bigint',
    'unique_contacts bigint', 'conversations bigint', 'agent_conversations bigint', 'fallback_count bigint',
    'bot_answered_inbound bigint', 'bot_conversations bigint', 'contained_conversations bigint',
    'escalated_conversations bigint', 'sent_outbound bigint', 'delivered_outbound bigint',
    'read_outbound bigint']);
SELECT api_private.expose('mart_agent_performance', ARRAY[
    'tenant_id text', 'date date', 'agent_id text', 'agent_email text', 'messages bigint', 'sessions bigint',
    'contacts bigint', 'wait_seconds_sum numeric', 'handle_seconds_sum numeric', 'transfers bigint']);
SELECT api_private.expose('mart_intent_performance', ARRAY[
    'tenant_id text', 'date date', 'channel text', 'intent text', 'occurrences bigint', 'fallbacks bigint',
    'escalated bigint']);
SELECT api_private.expose('mart_volume_heatmap', ARRAY[
    'tenant_id text', 'date date', 'channel text', 'weekday_num integer', 'hour integer',
    'inbound_messages bigint', 'messages bigint']);
SELECT api_private.expose('mart_push_daily', ARRAY[
    'tenant_id text', 'date date', 'platform text', 'application_id text', 'sent bigint', 'delivered bigint',
    'opened bigint', 'clicks bigint', 'delivery_rate numeric', 'ctr numeric', 'ctr_delivered numeric',
    'open_rate numeric']);
SELECT api_private.expose('mart_campaign_performance', ARRAY[
    'tenant_id text', 'campaign_id text', 'campaign_name text', 'channel text', 'status text',
    'start_date date', 'end_date date', 'sent bigint', 'delivered bigint', 'opened bigint', 'clicks bigint',
    'delivery_rate numeric', 'ctr numeric', 'ctr_delivered numeric', 'open_rate numeric',
    'in_league boolean', 'league_rank integer']);
SELECT api_private.expose('mart_push_heatmap', ARRAY[
    'tenant_id text', 'canal text', 'weekday text', 'weekday_num integer', 'hour integer', 'ctr numeric']);

COMMENT ON SCHEMA api IS 'PostgREST: aggregated marts only (no message bodies, no contacts); RLS by JWT tenant_id';

-- Ask a running PostgREST to reload its schema cache (no-op without listeners).
NOTIFY pgrst, 'reload schema';
