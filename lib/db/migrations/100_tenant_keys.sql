-- Keys that can be distributed by tenant (issue 18), on every server: single-node PostgreSQL and Citus
-- alike, so both run the same schema.
--
-- A distributed table's primary and unique keys must contain the distribution column. The data
-- model's unique keys already lead with tenant_id; the surrogate `id SERIAL PRIMARY KEY` of raw.* and
-- public.* does not. ops.apply_tenant_keys() turns such a key into PRIMARY KEY (tenant_id, id) (same
-- constraint name, same columns: nothing renamed) and keeps a plain index on (id), so lookups by id
-- alone stay indexed. Only tables that can then be distributed are touched: tenant_id NOT NULL, every
-- other unique key already holding tenant_id, no foreign key pointing at the id.
--
-- lib/db/migrate.py calls it after the migration files on every `bi db migrate` (before the login
-- grants), so tables that later migrations add get the same key. Idempotent; returns what it changed.
CREATE OR REPLACE FUNCTION ops.apply_tenant_keys() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relname, k.conname
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
        JOIN pg_catalog.pg_attribute id ON id.attrelid = c.oid AND id.attname = 'id' AND NOT id.attisdropped
        JOIN pg_catalog.pg_attribute t ON t.attrelid = c.oid AND t.attname = 'tenant_id' AND NOT t.attisdropped
        WHERE n.nspname IN ('raw', 'public', 'ops')
          AND c.relkind IN ('r', 'p')
          AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
          AND k.conkey = ARRAY[id.attnum]
          AND t.attnotnull
          AND NOT EXISTS (  -- another unique key without tenant_id: the table cannot be distributed anyway
              SELECT 1 FROM pg_catalog.pg_index i
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indexrelid <> k.conindid
                AND NOT (t.attnum = ANY (i.indkey)))
          AND NOT EXISTS (  -- a foreign key references the id
              SELECT 1 FROM pg_catalog.pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.oid)
        ORDER BY c.oid::regclass::text
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I PRIMARY KEY (tenant_id, id)',
                       r.rel, r.conname, r.conname);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (id)', left(r.relname, 55) || '_id_idx', r.rel);
        RETURN NEXT r.rel::text;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION ops.apply_tenant_keys() FROM PUBLIC;

SELECT ops.apply_tenant_keys();
