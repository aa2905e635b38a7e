-- The rows of the v2 history pages of a batch (source_data.text: the CSV page as sent), parsed by
-- PostgreSQL's COPY into this temp table, which messages.sql reads. One table per transaction.
-- raw_id comes from the setting bi.stage_raw_id (set before each page's COPY); ord keeps the order.
-- reason/record: a record the CSV reader could not align with the header (kept for the reject).
CREATE TEMP TABLE IF NOT EXISTS history_stage (
    raw_id integer NOT NULL DEFAULT current_setting('bi.stage_raw_id')::integer,
    ord bigint GENERATED ALWAYS AS IDENTITY,
    reason text,
    record text,
    "messageId" text, "messageDate" text, "sendType" text, "contentType" text, "status" text,
    "statusAt" text, "channelExternalId" text, "error" text, "content" text, "scheduleAt" text,
    "integration" text, "channel" text, "profileName" text, "contactId" text, "agentConversationId" text,
    "agentQueuedAt" text, "agentAssignedAt" text, "agentClosedAt" text, "agentCloseReason" text,
    "agentId" text, "dfIntentId" text, "dfIntentName" text, "isFallback" text, "sendingId" text,
    x1 text, x2 text, x3 text, x4 text, x5 text, x6 text, x7 text, x8 text
) ON COMMIT DROP
