-- Dashboard sessions that the server can end (lib.auth, dash_app.security).
--
-- A session cookie names the user row (id) and its session_version at sign-in. Every request checks
-- both against the row (cached a few seconds): signing out bumps the version (every copy of every
-- cookie of that user ends), and so does any change of role, tenant, password or is_active
-- (trigger below); deleting the row ends them too, and a re-created user gets a new id.
--
-- The web process reaches the table only through the SECURITY DEFINER functions below, granted to
-- the NOLOGIN role `bi_signin` (held by bi_reader, the dashboards' role): an exact-name lookup for
-- sign-in, a session check by id that returns no hash, sign-out and the last-login stamp. No plain
-- SELECT on ops.dashboard_users is granted to anyone but the owner.

ALTER TABLE ops.dashboard_users ADD COLUMN IF NOT EXISTS session_version BIGINT NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION ops.dashboard_users_bump_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.password_hash IS DISTINCT FROM OLD.password_hash
       OR NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        NEW.session_version := GREATEST(OLD.session_version, NEW.session_version) + 1;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS bump_session_version ON ops.dashboard_users;
CREATE TRIGGER bump_session_version BEFORE UPDATE ON ops.dashboard_users
    FOR EACH ROW EXECUTE FUNCTION ops.dashboard_users_bump_session();

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_signin') THEN
        CREATE ROLE bi_signin NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of this cluster created it concurrently
END
$$;

-- Sign-in: the active user with exactly this name (hash included: bcrypt runs in the web process).
CREATE OR REPLACE FUNCTION ops.signin_lookup(p_username text)
RETURNS TABLE (id integer, username text, password_hash text, role text, tenant_id text, session_version bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.id, u.username::text, u.password_hash, u.role::text, u.tenant_id, u.session_version
    FROM ops.dashboard_users AS u
    WHERE u.username = p_username AND u.is_active
$$;

-- Every request: the row behind a session id (no hash). No row -> the session is over.
CREATE OR REPLACE FUNCTION ops.session_lookup(p_id integer)
RETURNS TABLE (id integer, username text, role text, tenant_id text, session_version bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.id, u.username::text, u.role::text, u.tenant_id, u.session_version
    FROM ops.dashboard_users AS u
    WHERE u.id = p_id AND u.is_active
$$;

-- Sign-out everywhere: only a holder of the current version can end it; returns the new version.
CREATE OR REPLACE FUNCTION ops.session_end(p_id integer, p_version bigint)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE ops.dashboard_users SET session_version = session_version + 1, updated_at = now()
    WHERE id = p_id AND session_version = p_version
    RETURNING session_version
$$;

CREATE OR REPLACE FUNCTION ops.signin_recorded(p_id integer)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE ops.dashboard_users SET last_login_at = now() WHERE id = p_id
$$;

REVOKE ALL ON FUNCTION ops.signin_lookup(text), ops.session_lookup(integer),
    ops.session_end(integer, bigint), ops.signin_recorded(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.signin_lookup(text), ops.session_lookup(integer),
    ops.session_end(integer, bigint), ops.signin_recorded(integer) TO bi_signin;
GRANT bi_signin TO bi_reader;
