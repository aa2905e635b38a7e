-- Citus mode (issue 18): the same schema distributed by tenant. Everything here is a no-op unless the
-- `citus` extension is installed in this database (the operator runs CREATE EXTENSION citus and adds
-- the worker nodes; managed Citus has both). On plain PostgreSQL 15/18 these functions only exist.
--
-- Placement of each table (ops.citus_distribute), decided from the catalog so that tables later
-- migrations add (and marts dbt rebuilds) are covered the same way:
--   distributed  tenant_id NOT NULL and every unique key holds it (migration 100 made the surrogate
--                keys (tenant_id, id)): hash-distributed by tenant_id, all in ONE co-location group,
--                so a tenant's rows of every table sit on the same worker and a one-tenant statement
--                (joins, INSERT ... SELECT, ON CONFLICT, data-modifying CTEs) runs there as a whole
--   reference    a table of public/analytics without tenant_id (public.tenants, dim_date): a copy on
--                every node, joinable with everything
--   local        on the coordinator only, with the reason: a unique key without tenant_id (the run
--                ledger: run ids are global, `ON CONFLICT (run_id)`), a nullable tenant_id (dashboard
--                users: admins have none), ops tables without tenant_id
-- Row-level security, FORCE, policies (tenant_isolation, mart_builder), grants and the append-only
-- triggers of raw.* are copied to every shard when a table is distributed; later DDL on it is
-- propagated by Citus. A policy runs where the shard is, so the tenant setting must reach the workers:
-- lib.db.tenant_tx sets it with SET LOCAL, which Citus forwards with citus.propagate_set_commands =
-- 'local' (set on the database below). A tenant_id typed VARCHAR(n) (raw.*) becomes TEXT with a CHECK
-- of the same length (co-location needs one type), its policies re-created as they were.

CREATE OR REPLACE FUNCTION ops.citus_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')
$$;

-- tenant_id VARCHAR(n) -> TEXT + CHECK (char_length(tenant_id) <= n). Policies block a column type
-- change, so they are dropped and re-created from their catalog definition in the same transaction.
CREATE OR REPLACE FUNCTION ops.citus_tenant_id_as_text(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    saved text[] := ARRAY[]::text[];
    stmt text;
    len integer;
    tname text := (SELECT relname FROM pg_catalog.pg_class WHERE oid = tbl);
BEGIN
    SELECT CASE WHEN a.atttypmod > 4 THEN a.atttypmod - 4 END INTO len
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = 'tenant_id' AND a.atttypid = 'varchar'::regtype;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    FOR p IN
        SELECT pol.polname, pol.polpermissive, pol.polcmd, pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS qual,
               pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk,
               CASE WHEN pol.polroles = '{0}' THEN 'PUBLIC'
                    ELSE (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_catalog.pg_roles
                          WHERE oid = ANY (pol.polroles)) END AS roles
        FROM pg_catalog.pg_policy pol WHERE pol.polrelid = tbl
    LOOP
        saved := saved || format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, tbl,
            CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                          WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
            p.roles,
            CASE WHEN p.qual IS NOT NULL THEN ' USING (' || p.qual || ')' ELSE '' END,
            CASE WHEN p.chk IS NOT NULL THEN ' WITH CHECK (' || p.chk || ')' ELSE '' END);
        EXECUTE format('DROP POLICY %I ON %s', p.polname, tbl);
    END LOOP;
    EXECUTE format('ALTER TABLE %s ALTER COLUMN tenant_id TYPE text', tbl);
    IF len IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (char_length(tenant_id) <= %s)',
                       tbl, left('ck_' || tname, 50) || '_tenant_len', len);
    END IF;
    FOREACH stmt IN ARRAY saved LOOP
        EXECUTE stmt;
    END LOOP;
END
$$;

-- Where a table is now: 'distributed', 'reference', 'local: citus managed', or NULL when Citus does not
-- know it (a plain local table, or no Citus at all).
CREATE OR REPLACE FUNCTION ops.citus_placement(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    placed text;
BEGIN
    IF NOT ops.citus_enabled() THEN
        RETURN NULL;
    END IF;
    SELECT CASE WHEN p.partmethod = 'h' THEN 'distributed' WHEN p.repmodel = 't' THEN 'reference'
                ELSE 'local: citus managed' END
      INTO placed
    FROM pg_dist_partition p WHERE p.logicalrelid = tbl;
    RETURN placed;
END
$$;

-- Where a table belongs (see the header), without changing anything: its placement when Citus has
-- it already, else 'distributed', 'reference' or 'local: <reason>'; 'single node' without Citus.
-- tenant_required: a nullable tenant_id does not keep the table local (dbt's CREATE TABLE AS leaves
-- every column nullable; ops.citus_distribute then makes it NOT NULL: a mart row without a tenant
-- would be a bug, and is now an error).
CREATE OR REPLACE FUNCTION ops.citus_plan(tbl regclass, tenant_required boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    nsp text;
    placed text;
    tenant record;
    bad text;
BEGIN
    IF NOT ops.citus_enabled() THEN
        RETURN 'single node';
    END IF;
    placed := ops.citus_placement(tbl);
    IF placed IS NOT NULL THEN
        RETURN placed;
    END IF;
    SELECT n.nspname INTO nsp FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = tbl;
    SELECT a.attnum, a.attnotnull INTO tenant
    FROM pg_catalog.pg_attribute a WHERE a.attrelid = tbl AND a.attname = 'tenant_id' AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RETURN CASE WHEN nsp IN ('public', 'analytics') THEN 'reference' ELSE 'local: no tenant_id' END;
    END IF;
    IF NOT tenant.attnotnull AND NOT tenant_required THEN
        RETURN 'local: tenant_id may be NULL';
    END IF;
    SELECT string_agg(i.indexrelid::regclass::text, ', ') INTO bad
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = tbl AND i.indisunique AND NOT (tenant.attnum = ANY (i.indkey));
    IF bad IS NOT NULL THEN
        RETURN 'local: unique key without tenant_id (' || bad || ')';
    END IF;
    SELECT string_agg(f.conname, ', ') INTO bad
    FROM pg_catalog.pg_constraint f
    WHERE f.contype = 'f' AND (f.conrelid = tbl OR f.confrelid = tbl)
      AND ops.citus_placement(CASE WHEN f.conrelid = tbl THEN f.confrelid ELSE f.conrelid END::regclass)
          IN ('distributed', 'reference') IS NOT TRUE;
    IF bad IS NOT NULL THEN
        RETURN 'local: foreign key to a local table (' || bad || ')';
    END IF;
    RETURN 'distributed';
END
$$;

-- Place one table as ops.citus_plan says; returns the placement. Idempotent. The caller must own the
-- table (bi_dbt for its marts, through the dbt macro bi_citus_create_table_as; the owner for the rest).
CREATE OR REPLACE FUNCTION ops.citus_distribute(tbl regclass, tenant_required boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    plan text := ops.citus_plan(tbl, tenant_required);
    anchor text;
    has_rows boolean;
BEGIN
    IF ops.citus_placement(tbl) IS NOT NULL OR plan NOT IN ('distributed', 'reference') THEN
        RETURN plan;
    END IF;
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);  -- the raw append-only triggers
    IF plan = 'reference' THEN
        PERFORM create_reference_table(tbl);
        RETURN plan;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
               WHERE attrelid = tbl AND attname = 'tenant_id' AND NOT attnotnull) THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN tenant_id SET NOT NULL', tbl);
    END IF;
    PERFORM ops.citus_tenant_id_as_text(tbl);  -- a VARCHAR(n) tenant_id; no-op for TEXT
    -- one co-location group for every tenant table: colocate with the first one distributed
    SELECT p.logicalrelid::text INTO anchor
    FROM pg_dist_partition p
    JOIN pg_catalog.pg_attribute a ON a.attrelid = p.logicalrelid AND a.attname = 'tenant_id'
    WHERE p.partmethod = 'h' AND column_to_column_name(p.logicalrelid, p.partkey) = 'tenant_id'
      AND a.atttypid = 'text'::regtype
    ORDER BY p.colocationid, p.logicalrelid::text LIMIT 1;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tbl) INTO has_rows;
    PERFORM create_distributed_table(tbl, 'tenant_id', colocate_with => coalesce(anchor, 'default'));
    -- the rows were copied to the shards; the coordinator's copy is dead weight, except on append-only
    -- tables, whose TRUNCATE trigger refuses even that (raw is never deleted)
    IF has_rows AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                                WHERE tgrelid = tbl AND tgname = 'append_only_truncate') THEN
        PERFORM truncate_local_data_after_distributing_table(tbl);
    END IF;
    RETURN plan;
END
$$;

-- Every table of raw, public, ops and analytics placed (run by lib/db/migrate.py after the migration
-- files, as the owner); reference tables first so foreign keys to them can be distributed. Also the
-- database settings Citus mode needs: SET LOCAL app.tenant_id forwarded to the workers, and
-- (re-)creating the append-only triggers on distributed tables when a migration runs again.
CREATE OR REPLACE FUNCTION ops.apply_citus() RETURNS TABLE (relation text, placement text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF NOT ops.citus_enabled() THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', current_database(), 'local');
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
    FOR r IN
        SELECT c.oid::regclass AS rel, n.nspname = 'analytics' AS mart
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('raw', 'public', 'ops', 'analytics') AND c.relkind IN ('r', 'p')
          AND NOT c.relispartition AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
        ORDER BY EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
                 c.oid::regclass::text
    LOOP
        relation := r.rel::text;
        placement := ops.citus_distribute(r.rel, tenant_required => r.mart);  -- a mart built before Citus
        RETURN NEXT;
    END LOOP;
END
$$;

-- Citus puts its metadata views (citus_tables, citus_schemas) in public, readable by PUBLIC, and
-- ops.apply_login_grants() grants the readers every relation of public: the application logins read
-- only the data model there (least privilege). lib/db/migrate.py calls this after the login grants.
CREATE OR REPLACE FUNCTION ops.citus_restrict_metadata() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF NOT ops.citus_enabled() THEN
        RETURN;
    END IF;
    FOR r IN
        SELECT c.oid::regclass AS rel
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname IN ('citus_tables', 'citus_schemas')
    LOOP
        BEGIN
            EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, bi_reader, bi_app, bi_analyst, bi_loader, bi_dbt', r.rel);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot revoke % from the logins (not its owner)', r.rel;
        END;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION ops.citus_tenant_id_as_text(regclass), ops.citus_distribute(regclass, boolean),
                       ops.apply_citus(), ops.citus_restrict_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.citus_tenant_id_as_text(regclass) TO bi_dbt;  -- through citus_distribute
GRANT EXECUTE ON FUNCTION ops.citus_distribute(regclass, boolean) TO bi_dbt;
