-- Raw pages are large JSONB documents (a week of chat history is ~8 MB); pglz compression is a third
-- of the write cost. Use lz4 where the server was built with it (Supabase, Debian's PostgreSQL);
-- servers without it keep the default. Only new rows are affected: old ones are never rewritten.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw_contacts_api', 'raw_push_stats', 'raw_chat_stats', 'raw_campaigns_api',
                             'raw_applications', 'raw_sms_stats', 'raw_email_stats', 'raw_inapp_stats']
    LOOP
        EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN source_data SET COMPRESSION lz4', t);
    END LOOP;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available on this server; raw.* keeps the default compression';
END
$$;
