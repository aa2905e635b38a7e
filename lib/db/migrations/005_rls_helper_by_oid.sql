-- ops.enable_tenant_rls looked its policy up through pg_policies, casting every policy's table name
-- back to regclass; a table dropped concurrently (dbt swapping a relation) made that cast fail.
-- Look the policy up by the table's oid instead.
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
END
$$;
