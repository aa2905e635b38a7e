-- Transform bookkeeping (owner: lib.transform).
--   ops.transform_state : per tenant, transform and raw source table, the highest raw id already
--                         transformed (the watermark), the latest loaded_at seen up to it, and how many
--                         raw rows of the tenant had an id <= the watermark (a later, larger count means
--                         a row committed late below the watermark: the next run does a full pass).
--   ops.transform_dirty : keys (dates, contacts, agents) whose aggregates a post-transform must
--                         recompute; transforms enqueue them in the statement that changes the rows,
--                         the post-transform consumes them in the statement that recomputes them.
CREATE TABLE IF NOT EXISTS ops.transform_state (
    tenant_id       TEXT NOT NULL,
    entity          VARCHAR(50) NOT NULL,
    source          VARCHAR(100) NOT NULL DEFAULT '',
    last_raw_id     BIGINT NOT NULL DEFAULT 0,
    last_loaded_at  TIMESTAMPTZ,
    rows_in         INTEGER,
    rows_out        INTEGER,
    rejects         INTEGER,
    run_id          TEXT,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_transform_state PRIMARY KEY (tenant_id, entity, source)
);

ALTER TABLE ops.transform_state ADD COLUMN IF NOT EXISTS raw_rows_upto BIGINT;

CREATE TABLE IF NOT EXISTS ops.transform_dirty (
    tenant_id  TEXT NOT NULL,
    target     VARCHAR(50) NOT NULL,
    key        TEXT NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_transform_dirty PRIMARY KEY (tenant_id, target, key)
);

SELECT ops.enable_tenant_rls('ops.transform_state');
SELECT ops.enable_tenant_rls('ops.transform_dirty');
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.transform_state, ops.transform_dirty TO bi_loader;
GRANT SELECT ON ops.transform_state, ops.transform_dirty TO bi_reader;
