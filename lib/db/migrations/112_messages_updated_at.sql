-- The messages written since the marts' last build (issue 17): dbt's checks of the staged messages read
-- only those (dbt/macros/test_where.sql, __since_built__), as the sessionizer does, instead of every
-- message each build. Like the built_at index of int_messages__sessionized it serves one cross-tenant
-- lookup by the mart builder; no dashboard query reads public.messages by it.
CREATE INDEX IF NOT EXISTS idx_messages_updated_at ON public.messages (updated_at);
