-- ops.dashboard_users: who may sign in to the dashboards (lib.auth, `bi users add`).
-- Passwords are bcrypt hashes. Owner-only: bi_reader / bi_loader get no privilege at all, so a
-- dashboard query (reader role) can never read a hash. A viewer is bound to one tenant; an admin
-- (tenant_id NULL) sees every tenant.
CREATE TABLE IF NOT EXISTS ops.dashboard_users (
    id             SERIAL PRIMARY KEY,
    username       VARCHAR(100) NOT NULL,
    password_hash  TEXT NOT NULL,
    role           VARCHAR(10) NOT NULL CHECK (role IN ('admin', 'viewer')),
    tenant_id      TEXT,
    is_active      BOOLEAN NOT NULL DEFAULT true,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at  TIMESTAMPTZ,
    CONSTRAINT uq_dashboard_users_username UNIQUE (username),
    CONSTRAINT ck_dashboard_users_viewer_tenant CHECK (role = 'admin' OR tenant_id IS NOT NULL)
);

-- RLS enabled and forced like every tenant table; the owner (who alone has privileges) may read
-- across tenants to sign users in, through its own policy.
SELECT ops.enable_tenant_rls('ops.dashboard_users');
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE schemaname = 'ops' AND tablename = 'dashboard_users'
                     AND policyname = 'owner_sign_in') THEN
        CREATE POLICY owner_sign_in ON ops.dashboard_users TO CURRENT_USER USING (true) WITH CHECK (true);
    END IF;
END
$$;

REVOKE ALL ON ops.dashboard_users FROM PUBLIC, bi_reader, bi_loader;
REVOKE ALL ON SEQUENCE ops.dashboard_users_id_seq FROM PUBLIC, bi_reader, bi_loader;
