-- public.*: the structured tables of the data model (names, types, unique keys, indexes are a contract).
-- Additions beyond the model: id on every table, updated_at (moves only when a row really changes),
-- and a few source columns the transforms and marts need (see each table).

CREATE TABLE IF NOT EXISTS public.tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'America/Bogota',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT ops.enable_tenant_rls('public.tenants', 'id');

-- Conversations (chat / WhatsApp) ------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.messages (
    id                   SERIAL PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    message_id           VARCHAR(100) NOT NULL,
    "timestamp"          TIMESTAMPTZ,
    date                 DATE,
    hour                 SMALLINT,
    day_of_week          VARCHAR(10),
    send_type            VARCHAR(30),
    direction            VARCHAR(20),
    content_type         VARCHAR(30),
    status               VARCHAR(20),
    contact_name         VARCHAR(255),
    contact_id           VARCHAR(100),
    conversation_id      VARCHAR(100),
    agent_id             VARCHAR(100),
    close_reason         VARCHAR(100),
    intent               VARCHAR(200),
    is_fallback          BOOLEAN,
    message_body         TEXT,
    is_bot               BOOLEAN,
    is_human             BOOLEAN,
    wait_time_seconds    INTEGER,
    handle_time_seconds  INTEGER,
    channel              VARCHAR(30),
    integration          VARCHAR(20),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_messages_tenant_message UNIQUE (tenant_id, message_id)
);
CREATE INDEX IF NOT EXISTS idx_messages_tenant_date ON public.messages (tenant_id, date);
CREATE INDEX IF NOT EXISTS idx_messages_tenant_direction ON public.messages (tenant_id, direction);
CREATE INDEX IF NOT EXISTS idx_messages_tenant_contact ON public.messages (tenant_id, contact_id);
CREATE INDEX IF NOT EXISTS idx_messages_tenant_conversation ON public.messages (tenant_id, conversation_id);

CREATE TABLE IF NOT EXISTS public.chat_conversations (
    id                       SERIAL PRIMARY KEY,
    tenant_id                TEXT NOT NULL,
    session_id               VARCHAR(100) NOT NULL,
    conversation_session_id  VARCHAR(100),
    contact_id               VARCHAR(100),
    agent_id                 VARCHAR(100),
    agent_email              VARCHAR(255),
    channel                  VARCHAR(30),
    queued_at                TIMESTAMPTZ,
    assigned_at              TIMESTAMPTZ,
    closed_at                TIMESTAMPTZ,
    initial_session_id       VARCHAR(100),
    wait_time_seconds        INTEGER,
    handle_time_seconds      INTEGER,
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_chat_conversations_tenant_session UNIQUE (tenant_id, session_id)
);
CREATE INDEX IF NOT EXISTS idx_chat_conversations_tenant_closed ON public.chat_conversations (tenant_id, closed_at);
CREATE INDEX IF NOT EXISTS idx_chat_conversations_tenant_agent ON public.chat_conversations (tenant_id, agent_id);
CREATE INDEX IF NOT EXISTS idx_chat_conversations_tenant_contact ON public.chat_conversations (tenant_id, contact_id);

CREATE TABLE IF NOT EXISTS public.chat_channels (
    id            SERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    channel_id    VARCHAR(100) NOT NULL,
    channel_type  VARCHAR(30),
    channel_name  VARCHAR(255),
    phone_number  VARCHAR(50),
    status        VARCHAR(20),
    config        JSONB,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_chat_channels_tenant_channel UNIQUE (tenant_id, channel_id)
);

CREATE TABLE IF NOT EXISTS public.contacts (
    id                   SERIAL PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    contact_id           VARCHAR(100) NOT NULL,
    contact_name         VARCHAR(255),
    total_messages       INTEGER,
    first_contact        DATE,
    last_contact         DATE,
    total_conversations  INTEGER,
    channel              VARCHAR(30),
    source_created_at    TIMESTAMPTZ,
    source_updated_at    TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_contacts_tenant_contact UNIQUE (tenant_id, contact_id)
);

CREATE TABLE IF NOT EXISTS public.agents (
    id                       SERIAL PRIMARY KEY,
    tenant_id                TEXT NOT NULL,
    agent_id                 VARCHAR(100) NOT NULL,
    total_messages           INTEGER,
    conversations_handled    INTEGER,
    avg_handle_time_seconds  INTEGER,
    agent_email              VARCHAR(255),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_agents_tenant_agent UNIQUE (tenant_id, agent_id)
);

CREATE TABLE IF NOT EXISTS public.daily_stats (
    id              SERIAL PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    date            DATE NOT NULL,
    total_messages  INTEGER,
    unique_contacts INTEGER,
    conversations   INTEGER,
    fallback_count  INTEGER,
    chat_messages   INTEGER,
    push_enviados   INTEGER,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_daily_stats_tenant_date UNIQUE (tenant_id, date)
);

-- Campaigns (push / SMS / email) ---------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.toques_daily (
    id               SERIAL PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    date             DATE NOT NULL,
    canal            VARCHAR(30) NOT NULL,
    proyecto_cuenta  VARCHAR(100) NOT NULL,
    enviados         INTEGER,
    entregados       INTEGER,
    clicks           INTEGER,
    abiertos         INTEGER,
    ctr              NUMERIC(6,2),
    tasa_entrega     NUMERIC(6,2),
    open_rate        NUMERIC(6,2),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_toques_daily_key UNIQUE (tenant_id, date, canal, proyecto_cuenta)
);

CREATE TABLE IF NOT EXISTS public.campaigns (
    id                SERIAL PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    campana_id        VARCHAR(100) NOT NULL,
    campana_nombre    VARCHAR(255),
    canal             VARCHAR(30),
    tipo_campana      VARCHAR(50),
    total_enviados    INTEGER,
    total_entregados  INTEGER,
    total_clicks      INTEGER,
    fecha_inicio      DATE,
    fecha_fin         DATE,
    ctr               NUMERIC(6,2),
    application_id    VARCHAR(100),
    total_abiertos    INTEGER,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_campaigns_tenant_campana UNIQUE (tenant_id, campana_id)
);

CREATE TABLE IF NOT EXISTS public.toques_heatmap (
    id          SERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    canal       VARCHAR(30) NOT NULL,
    dia_semana  VARCHAR(12) NOT NULL,
    hora        SMALLINT NOT NULL,
    ctr         NUMERIC(6,2),
    dia_orden   SMALLINT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_toques_heatmap_key UNIQUE (tenant_id, canal, dia_semana, hora)
);

-- Application ----------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.sync_state (
    id              SERIAL PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    entity          VARCHAR(50) NOT NULL,
    last_cursor     TEXT,
    last_sync_at    TIMESTAMPTZ,
    records_synced  INTEGER,
    status          VARCHAR(20) NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('success', 'error', 'pending', 'running')),
    last_error      TEXT,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_sync_state_tenant_entity UNIQUE (tenant_id, entity)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['messages', 'chat_conversations', 'chat_channels', 'contacts', 'agents',
                             'daily_stats', 'toques_daily', 'campaigns', 'toques_heatmap', 'sync_state']
    LOOP
        PERFORM ops.enable_tenant_rls(format('public.%I', t)::regclass);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bi_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bi_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO bi_reader;
