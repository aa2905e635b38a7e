-- Sign-in for the dashboards login (bi_app) without any privilege on ops.dashboard_users: two narrow
-- SECURITY DEFINER functions owned by the owner, with a fixed search_path.
--   ops.dashboard_user_for_sign_in(username) -> the active user's row (0 or 1 rows). It returns the
--       table's row type, so columns added later (e.g. a session version of sec-web's 090-094) come
--       along without a new grant; a session check can call it by username too.
--   ops.dashboard_record_sign_in(username)   -> stamps last_login_at of an active user.
-- No listing, no insert/update of users: `bi users` runs as the owner.
CREATE OR REPLACE FUNCTION ops.dashboard_user_for_sign_in(p_username text)
RETURNS SETOF ops.dashboard_users
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.* FROM ops.dashboard_users AS u WHERE u.username = p_username AND u.is_active
$$;

CREATE OR REPLACE FUNCTION ops.dashboard_record_sign_in(p_username text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE ops.dashboard_users SET last_login_at = now() WHERE username = p_username AND is_active
$$;

REVOKE ALL ON FUNCTION ops.dashboard_user_for_sign_in(text), ops.dashboard_record_sign_in(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.dashboard_user_for_sign_in(text), ops.dashboard_record_sign_in(text) TO bi_app;
