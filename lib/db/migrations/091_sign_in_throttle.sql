-- Sign-in throttling (dash_app.security): failed attempts per user name and per client address,
-- shared by every web worker. Keys are stored as SHA-256 hex (a name typed by mistake may be a
-- password); the time comes from the caller (lib.clock) so tests control it.
CREATE TABLE IF NOT EXISTS ops.dashboard_sign_in_throttle (
    scope         VARCHAR(10) NOT NULL CHECK (scope IN ('user', 'address')),
    key_hash      TEXT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    window_start  TIMESTAMPTZ NOT NULL,
    locked_until  TIMESTAMPTZ,
    PRIMARY KEY (scope, key_hash)
);
ALTER TABLE ops.dashboard_sign_in_throttle ENABLE ROW LEVEL SECURITY;  -- no policy: owner only
REVOKE ALL ON ops.dashboard_sign_in_throttle FROM PUBLIC;  -- and from every login: 050 apply_login_grants

CREATE OR REPLACE FUNCTION ops.signin_key(p_value text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(convert_to(coalesce(p_value, ''), 'UTF8')), 'hex')
$$;

-- Seconds until either key may try again (0: go ahead).
CREATE OR REPLACE FUNCTION ops.signin_wait(p_user text, p_address text, p_now timestamptz)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(max(ceil(extract(epoch FROM t.locked_until - p_now)))::integer, 0)
    FROM ops.dashboard_sign_in_throttle AS t
    WHERE t.locked_until > p_now
      AND ((t.scope = 'user' AND t.key_hash = ops.signin_key(p_user))
        OR (t.scope = 'address' AND t.key_hash = ops.signin_key(p_address)))
$$;

-- One failed attempt: count it for both keys (a window of p_window_s seconds); a key that reaches
-- its limit is locked for p_lock_s seconds. Returns the seconds to wait now (0: not locked).
CREATE OR REPLACE FUNCTION ops.signin_failed(
    p_user text, p_address text, p_now timestamptz,
    p_user_max integer, p_address_max integer, p_window_s integer, p_lock_s integer
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k record;
BEGIN
    DELETE FROM ops.dashboard_sign_in_throttle AS t
    WHERE t.window_start < p_now - interval '1 day' AND (t.locked_until IS NULL OR t.locked_until < p_now);
    FOR k IN SELECT * FROM (VALUES ('user', ops.signin_key(p_user), p_user_max),
                                   ('address', ops.signin_key(p_address), p_address_max)) AS v(scope, key_hash, lim)
    LOOP
        INSERT INTO ops.dashboard_sign_in_throttle AS t (scope, key_hash, failures, window_start)
        VALUES (k.scope, k.key_hash, 1, p_now)
        ON CONFLICT (scope, key_hash) DO UPDATE SET
            failures = CASE WHEN t.window_start < p_now - make_interval(secs => p_window_s) THEN 1
                            ELSE t.failures + 1 END,
            window_start = CASE WHEN t.window_start < p_now - make_interval(secs => p_window_s) THEN p_now
                                ELSE t.window_start END;
        UPDATE ops.dashboard_sign_in_throttle AS t
        SET locked_until = p_now + make_interval(secs => p_lock_s)
        WHERE t.scope = k.scope AND t.key_hash = k.key_hash AND t.failures >= k.lim;
    END LOOP;
    RETURN ops.signin_wait(p_user, p_address, p_now);
END
$$;

-- A successful sign-in clears the user's count (not the address's: one good account must not
-- reset an address that is guessing others).
CREATE OR REPLACE FUNCTION ops.signin_succeeded(p_user text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM ops.dashboard_sign_in_throttle WHERE scope = 'user' AND key_hash = ops.signin_key(p_user)
$$;

REVOKE ALL ON FUNCTION ops.signin_wait(text, text, timestamptz),
    ops.signin_failed(text, text, timestamptz, integer, integer, integer, integer),
    ops.signin_succeeded(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.signin_wait(text, text, timestamptz),
    ops.signin_failed(text, text, timestamptz, integer, integer, integer, integer),
    ops.signin_succeeded(text) TO bi_app;
