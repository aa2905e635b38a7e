-- Dashboard sessions that the server can end (lib.auth, dash_app.security).
--
-- A session cookie names the user row (id) and its session_version at sign-in. Every request checks
-- both against the row (cached a few seconds): signing out bumps the version (every copy of every
-- cookie of that user ends), and so does any change of role, tenant, password or is_active
-- (trigger below); deleting the row ends them too, and a re-created user gets a new id.
--
-- The dashboards login (bi_app) reaches the table only through SECURITY DEFINER functions: the
-- sign-in lookup of 051 (`ops.dashboard_user_for_sign_in`, which returns the row, session_version
-- included) and, here, a session check by id that returns no hash and sign-out. The analysts'
-- login (bi_analyst) gets none of them.

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

REVOKE ALL ON FUNCTION ops.session_lookup(integer), ops.session_end(integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.session_lookup(integer), ops.session_end(integer, bigint) TO bi_app;
