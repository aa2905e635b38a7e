-- Contract shapes of the dbt marts (docs/contracts.md "dbt marts"), for synthetic data only.
CREATE TABLE IF NOT EXISTS analytics.fct_messages (
    tenant_id TEXT NOT NULL, message_id TEXT NOT NULL, message_ts TIMESTAMPTZ, date DATE, hour SMALLINT,
    weekday_num SMALLINT, day_of_week TEXT, channel TEXT, direction TEXT, send_type TEXT, content_type TEXT,
    status TEXT, contact_id TEXT, contact_name TEXT, conversation_key TEXT, agent_session_id TEXT,
    agent_id TEXT, intent TEXT, is_fallback BOOLEAN, is_bot BOOLEAN, is_human BOOLEAN, message_body TEXT,
    integration TEXT, close_reason TEXT, is_conversation_start BOOLEAN, source_updated_at TIMESTAMPTZ,
    built_at TIMESTAMPTZ, PRIMARY KEY (tenant_id, message_id)
);
CREATE INDEX IF NOT EXISTS ix_syn_fct_messages_date ON analytics.fct_messages (tenant_id, date);
CREATE TABLE IF NOT EXISTS analytics.fct_conversations (
    tenant_id TEXT NOT NULL, conversation_key TEXT NOT NULL, contact_id TEXT, channel TEXT,
    started_at TIMESTAMPTZ, start_date DATE, ended_at TIMESTAMPTZ, messages INTEGER, inbound_messages INTEGER,
    bot_messages INTEGER, agent_messages INTEGER, system_messages INTEGER, outbound_messages INTEGER,
    has_bot BOOLEAN, has_human BOOLEAN, is_escalated BOOLEAN, is_contained BOOLEAN, first_intent TEXT,
    had_fallback BOOLEAN, agent_sessions INTEGER, transfers INTEGER, first_session_id TEXT,
    queued_at TIMESTAMPTZ, assigned_at TIMESTAMPTZ, wait_seconds INTEGER,
    first_human_response_seconds INTEGER, handle_seconds INTEGER, resolution_seconds INTEGER,
    is_closed BOOLEAN, next_started_at TIMESTAMPTZ, is_followed_within_24h BOOLEAN,
    reached_queue BOOLEAN, first_meaningful_intent TEXT, is_repeat_observable BOOLEAN,
    is_abandoned BOOLEAN,
    PRIMARY KEY (tenant_id, conversation_key)
);
CREATE TABLE IF NOT EXISTS analytics.fct_agent_sessions (
    tenant_id TEXT NOT NULL, session_id TEXT NOT NULL, conversation_session_id TEXT, initial_session_id TEXT,
    contact_id TEXT, agent_id TEXT, agent_email TEXT, channel TEXT, queued_at TIMESTAMPTZ,
    assigned_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, date DATE, wait_seconds INTEGER, handle_seconds INTEGER,
    first_response_seconds INTEGER, close_reason TEXT, is_transfer BOOLEAN, is_assigned BOOLEAN,
    is_abandoned BOOLEAN, is_abandoned_within_5s BOOLEAN, is_anomaly BOOLEAN, is_queued BOOLEAN,
    service_level_seconds INTEGER, is_within_service_level BOOLEAN, counts_for_service_level BOOLEAN,
    conversation_key TEXT, abandon_seconds DOUBLE PRECISION, messages BIGINT, agent_messages BIGINT,
    is_transferred_in BOOLEAN, is_closed BOOLEAN,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE INDEX IF NOT EXISTS ix_syn_fct_agent_sessions_date ON analytics.fct_agent_sessions (tenant_id, date);
CREATE TABLE IF NOT EXISTS analytics.mart_daily_kpis (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, channel TEXT NOT NULL, messages INTEGER,
    inbound_messages INTEGER, bot_messages INTEGER, agent_messages INTEGER, system_messages INTEGER,
    outbound_messages INTEGER, unique_contacts INTEGER, conversations INTEGER, agent_conversations INTEGER,
    fallback_count INTEGER, bot_answered_inbound INTEGER, bot_conversations INTEGER,
    contained_conversations INTEGER, escalated_conversations INTEGER, sent_outbound INTEGER,
    delivered_outbound INTEGER, read_outbound INTEGER, queued_conversations INTEGER DEFAULT 0,
    human_conversations BIGINT, built_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS analytics.mart_agent_performance (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, agent_id TEXT, agent_email TEXT, messages INTEGER,
    sessions INTEGER, contacts INTEGER, wait_seconds_sum BIGINT, handle_seconds_sum BIGINT, transfers INTEGER,
    waits BIGINT, handles BIGINT
);
CREATE TABLE IF NOT EXISTS analytics.mart_intent_performance (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, channel TEXT, intent TEXT, occurrences INTEGER,
    fallbacks INTEGER, escalated INTEGER,
    conversations BIGINT
);
CREATE TABLE IF NOT EXISTS analytics.mart_volume_heatmap (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, channel TEXT, weekday_num SMALLINT, hour SMALLINT,
    inbound_messages INTEGER, messages INTEGER
);
CREATE TABLE IF NOT EXISTS analytics.mart_push_daily (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, platform TEXT, application_id TEXT, sent INTEGER,
    delivered INTEGER, opened INTEGER, clicks INTEGER, delivery_rate NUMERIC(6,2), ctr NUMERIC(6,2),
    ctr_delivered NUMERIC(6,2), open_rate NUMERIC(6,2)
);
CREATE TABLE IF NOT EXISTS analytics.mart_campaign_performance (
    tenant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, campaign_name TEXT, channel TEXT, status TEXT,
    start_date DATE, end_date DATE, sent INTEGER, delivered INTEGER, opened INTEGER, clicks INTEGER,
    delivery_rate NUMERIC(6,2), ctr NUMERIC(6,2), ctr_delivered NUMERIC(6,2), open_rate NUMERIC(6,2),
    in_league BOOLEAN, league_rank INTEGER,
    application_id TEXT
);
CREATE TABLE IF NOT EXISTS analytics.mart_fallback_context (
    tenant_id TEXT NOT NULL, date DATE NOT NULL, channel TEXT, context_intent TEXT, fallbacks INTEGER,
    conversations INTEGER
);
CREATE TABLE IF NOT EXISTS analytics.mart_push_heatmap (
    tenant_id TEXT NOT NULL, canal TEXT, weekday TEXT, weekday_num SMALLINT, hour SMALLINT, ctr NUMERIC(6,2)
);
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['fct_messages', 'fct_conversations', 'fct_agent_sessions', 'mart_daily_kpis',
        'mart_agent_performance', 'mart_intent_performance', 'mart_volume_heatmap', 'mart_push_daily',
        'mart_campaign_performance', 'mart_push_heatmap', 'mart_fallback_context']
    LOOP
        PERFORM ops.enable_tenant_rls(format('analytics.%I', t)::regclass);
        EXECUTE format('GRANT SELECT ON analytics.%I TO bi_reader', t);
    END LOOP;
END
$$
