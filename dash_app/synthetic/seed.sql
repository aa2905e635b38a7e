-- Synthetic analytics rows for one tenant: :tenant, :start (date), :days, :per_day (weekday messages),
-- :tz (IANA zone), :seed. Shapes follow docs/contracts.md "dbt marts"; aggregates are built from the
-- generated facts the way the marts define them, so Σ/Σ checks hold.
SELECT setseed(:seed);

CREATE TEMP TABLE syn_msg ON COMMIT DROP AS
WITH days AS (
    SELECT CAST(:start AS date) + g AS d, 0.75 + random() * 0.5 AS dayf
    FROM generate_series(0, :days - 1) AS g
), raw AS (
    SELECT d, n, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
           random() AS r6, random() AS r7
    FROM days CROSS JOIN LATERAL generate_series(
        1, (:per_day * dayf * CASE WHEN extract(isodow FROM d) >= 6 THEN 0.55 ELSE 1.0 END)::int) AS n
), shaped AS (
    SELECT d, n, r3, r5, r6, r7,
           (CASE WHEN r1 < 0.33 THEN 8 + floor(r2 * 4) WHEN r1 < 0.62 THEN 14 + floor(r2 * 3)
                 WHEN r1 < 0.88 THEN 18 + floor(r2 * 4) ELSE floor(r2 * 24) END)::int AS hour,
           floor(r6 * 3600)::int AS sec_of_hour,
           floor(power(r4, 1.4) * GREATEST(:per_day, 40) * 2)::int AS contact_num
    FROM raw
), keyed AS (
    SELECT s.*, 'c' || lpad(contact_num::text, 6, '0') AS contact_id,
           (abs(hashtext(contact_num::text || d::text)) % 3 = 0) AS esc,
           CASE WHEN contact_num % 5 = 0 THEN 'webchat' ELSE 'cloudapi' END AS channel
    FROM shaped s
)
SELECT d, n, hour, sec_of_hour, contact_id, contact_num, esc, channel, r3, r7,
       CASE WHEN r5 < 0.40 THEN 'Inbound'
            WHEN r5 < 0.75 THEN 'Bot'
            WHEN r5 < 0.90 THEN (CASE WHEN esc THEN 'Agent' ELSE 'Bot' END)
            WHEN r5 < 0.95 THEN 'System'
            ELSE 'Outbound' END AS direction
FROM keyed;

INSERT INTO analytics.fct_messages (
    tenant_id, message_id, message_ts, date, hour, weekday_num, day_of_week, channel, direction, send_type,
    content_type, status, contact_id, contact_name, conversation_key, agent_session_id, agent_id, intent,
    is_fallback, is_bot, is_human, message_body)
SELECT
    :tenant,
    'm' || to_char(d, 'YYYYMMDD') || '-' || n,
    (d + make_interval(hours => hour, secs => sec_of_hour)) AT TIME ZONE CAST(:tz AS text),
    d, hour, extract(isodow FROM d)::int, trim(to_char(d, 'Day')), channel, direction,
    CASE direction WHEN 'Inbound' THEN 'input' WHEN 'Agent' THEN 'operator' WHEN 'Bot' THEN 'dialogflow'
                   WHEN 'System' THEN 'agent_notification' ELSE 'template' END,
    'text',
    CASE WHEN direction = 'Outbound' THEN
        (CASE WHEN r7 < 0.15 THEN 'channel_sent' WHEN r7 < 0.55 THEN 'channel_delivered' ELSE 'channel_read' END)
    END,
    contact_id, 'Contacto ' || contact_num,
    contact_id || ':' || to_char(d, 'YYYYMMDD'),
    CASE WHEN esc THEN 'S-' || contact_id || '-' || to_char(d, 'YYYYMMDD') END,
    CASE WHEN direction = 'Agent' THEN 'a' || (abs(hashtext(contact_id || d::text)) % 12 + 1) END,
    CASE WHEN direction = 'Inbound' AND r3 < 0.85 THEN
        (ARRAY['saldo', 'horario', 'Default Fallback Intent', 'tarjeta_bloqueo', 'credito', 'pqrs',
               'transferencias', 'clave', 'oficinas', 'certificados', 'seguros', 'asesor'])
            [1 + floor(power(r3 / 0.85, 1.6) * 12)::int]
    END,
    false,
    direction = 'Bot', direction = 'Agent',
    'Mensaje ' || n
FROM syn_msg;

UPDATE analytics.fct_messages SET is_fallback = (intent = 'Default Fallback Intent')
WHERE tenant_id = :tenant AND intent IS NOT NULL;

CREATE TEMP TABLE syn_sess ON COMMIT DROP AS
SELECT agent_session_id AS session_id, min(contact_id) AS contact_id, min(channel) AS channel,
       min(date) AS date, min(message_ts) AS first_ts, max(message_ts) AS last_ts,
       max(agent_id) AS agent_id, random() AS r1, random() AS r2, random() AS r3, random() AS r4
FROM analytics.fct_messages
WHERE tenant_id = :tenant AND agent_session_id IS NOT NULL
GROUP BY agent_session_id;

INSERT INTO analytics.fct_agent_sessions (
    tenant_id, session_id, conversation_session_id, initial_session_id, contact_id, agent_id, agent_email,
    channel, queued_at, assigned_at, closed_at, date, wait_seconds, handle_seconds, first_response_seconds,
    close_reason, is_transfer, is_assigned, is_abandoned, is_abandoned_within_5s, is_anomaly)
SELECT :tenant, session_id, 'CS-' || session_id, session_id, contact_id,
       COALESCE(agent_id, 'a' || (abs(hashtext(session_id)) % 12 + 1)),
       'agente' || COALESCE(substr(agent_id, 2), (abs(hashtext(session_id)) % 12 + 1)::text) || '@demo.co',
       channel, first_ts,
       first_ts + make_interval(secs => w),
       first_ts + make_interval(secs => w + h),
       date, w, h, (3 + floor(r3 * 90))::int,
       CASE WHEN r4 < 0.1 THEN 'AGENT_TRANSFER' ELSE 'AGENT_ACTION' END,
       r4 < 0.1, true, false, false, false
FROM (
    SELECT *, (CASE WHEN r1 < 0.08 THEN 900 + floor(r2 * 2400) ELSE floor(-ln(1 - r1 * 0.999) * 40) END)::int AS w,
              (60 + floor(-ln(1 - r2 * 0.999) * 420))::int AS h
    FROM syn_sess
) s;

-- Queued and never assigned (abandoned; some within the 5 s grace).
INSERT INTO analytics.fct_agent_sessions (
    tenant_id, session_id, conversation_session_id, initial_session_id, contact_id, agent_id, agent_email,
    channel, queued_at, assigned_at, closed_at, date, wait_seconds, handle_seconds, first_response_seconds,
    close_reason, is_transfer, is_assigned, is_abandoned, is_abandoned_within_5s, is_anomaly)
SELECT :tenant, 'AB-' || conversation_key, 'CS-AB-' || conversation_key, 'AB-' || conversation_key,
       contact_id, NULL, NULL, channel, ts, NULL, ts + make_interval(secs => q), date, NULL, NULL, NULL,
       'CONTACT_LEFT', false, false, q > 5, q <= 5, false
FROM (
    SELECT conversation_key, min(contact_id) AS contact_id, min(channel) AS channel, min(date) AS date,
           min(message_ts) AS ts, (CASE WHEN random() < 0.3 THEN 2 ELSE 30 + floor(random() * 600) END)::int AS q
    FROM analytics.fct_messages
    WHERE tenant_id = :tenant AND agent_session_id IS NULL
      AND abs(hashtext(conversation_key)) % 25 = 0
    GROUP BY conversation_key
) a;

UPDATE analytics.fct_agent_sessions SET
    is_queued = queued_at IS NOT NULL, service_level_seconds = 60,
    is_within_service_level = COALESCE(is_assigned AND wait_seconds BETWEEN 0 AND 60, false),
    counts_for_service_level = COALESCE(is_assigned AND wait_seconds >= 0, false) OR is_abandoned
WHERE tenant_id = :tenant;

INSERT INTO analytics.fct_conversations (
    tenant_id, conversation_key, contact_id, channel, started_at, start_date, ended_at, messages,
    inbound_messages, bot_messages, agent_messages, system_messages, outbound_messages, has_bot, has_human,
    is_escalated, is_contained, first_intent, had_fallback, agent_sessions, transfers, first_session_id)
SELECT :tenant, conversation_key, min(contact_id), min(channel), min(message_ts), min(date), max(message_ts),
       count(*), count(*) FILTER (WHERE direction = 'Inbound'), count(*) FILTER (WHERE direction = 'Bot'),
       count(*) FILTER (WHERE direction = 'Agent'), count(*) FILTER (WHERE direction = 'System'),
       count(*) FILTER (WHERE direction = 'Outbound'),
       bool_or(is_bot), bool_or(is_human),
       bool_or(is_bot) AND bool_or(is_human), bool_or(is_bot) AND NOT bool_or(is_human),
       min(intent), bool_or(is_fallback), count(DISTINCT agent_session_id), 0, min(agent_session_id)
FROM analytics.fct_messages
WHERE tenant_id = :tenant
GROUP BY conversation_key;

UPDATE analytics.fct_conversations c SET
    is_closed = n.ended_at IS NOT NULL,
    next_started_at = n.next_started_at,
    is_followed_within_24h = n.next_started_at IS NOT NULL AND n.next_started_at <= n.ended_at + interval '24 hours'
FROM (
    SELECT conversation_key, ended_at,
           lead(started_at) OVER (PARTITION BY contact_id ORDER BY started_at, conversation_key) AS next_started_at
    FROM analytics.fct_conversations WHERE tenant_id = :tenant
) n
WHERE c.tenant_id = :tenant AND c.conversation_key = n.conversation_key;

UPDATE analytics.fct_conversations c SET
    reached_queue = agent_sessions > 0,
    first_meaningful_intent = NULLIF(first_intent, 'Default Fallback Intent'),
    is_repeat_observable = is_closed AND ended_at <= (
        SELECT max(ended_at) FROM analytics.fct_conversations WHERE tenant_id = :tenant) - interval '24 hours'
WHERE c.tenant_id = :tenant;

INSERT INTO analytics.mart_daily_kpis
SELECT :tenant, COALESCE(m.date, c.date), COALESCE(m.channel, c.channel),
       COALESCE(m.messages, 0), COALESCE(m.inbound, 0), COALESCE(m.bot, 0), COALESCE(m.agent, 0),
       COALESCE(m.system, 0), COALESCE(m.outbound, 0), COALESCE(m.contacts, 0), COALESCE(c.conversations, 0),
       COALESCE(m.agent_conversations, 0), COALESCE(m.fallbacks, 0), COALESCE(m.bot_answered, 0),
       COALESCE(c.bot_conversations, 0), COALESCE(c.contained, 0), COALESCE(c.escalated, 0),
       COALESCE(m.sent, 0), COALESCE(m.delivered, 0), COALESCE(m.read, 0)
FROM (
    SELECT date, channel, count(*) AS messages,
           count(*) FILTER (WHERE direction = 'Inbound') AS inbound,
           count(*) FILTER (WHERE direction = 'Bot') AS bot,
           count(*) FILTER (WHERE direction = 'Agent') AS agent,
           count(*) FILTER (WHERE direction = 'System') AS system,
           count(*) FILTER (WHERE direction = 'Outbound') AS outbound,
           count(DISTINCT contact_id) AS contacts,
           count(DISTINCT agent_session_id) AS agent_conversations,
           count(*) FILTER (WHERE is_fallback) AS fallbacks,
           count(*) FILTER (WHERE direction = 'Inbound' AND intent IS NOT NULL) AS bot_answered,
           count(*) FILTER (WHERE direction = 'Outbound') AS sent,
           count(*) FILTER (WHERE status IN ('channel_delivered', 'channel_read')) AS delivered,
           count(*) FILTER (WHERE status = 'channel_read') AS read
    FROM analytics.fct_messages WHERE tenant_id = :tenant GROUP BY date, channel
) m
FULL OUTER JOIN (
    SELECT start_date AS date, channel, count(*) AS conversations,
           count(*) FILTER (WHERE has_bot) AS bot_conversations,
           count(*) FILTER (WHERE is_contained) AS contained,
           count(*) FILTER (WHERE is_escalated) AS escalated
    FROM analytics.fct_conversations WHERE tenant_id = :tenant GROUP BY start_date, channel
) c ON c.date = m.date AND c.channel = m.channel;

INSERT INTO analytics.mart_agent_performance
SELECT :tenant, COALESCE(s.date, m.date), COALESCE(s.agent_id, m.agent_id),
       COALESCE(s.agent_email, 'agente' || substr(m.agent_id, 2) || '@demo.co'),
       COALESCE(m.messages, 0), COALESCE(s.sessions, 0), COALESCE(s.contacts, 0),
       COALESCE(s.wait_sum, 0), COALESCE(s.handle_sum, 0), COALESCE(s.transfers, 0)
FROM (
    SELECT date, agent_id, max(agent_email) AS agent_email, count(*) AS sessions,
           count(DISTINCT contact_id) AS contacts, sum(wait_seconds) AS wait_sum,
           sum(handle_seconds) AS handle_sum, count(*) FILTER (WHERE is_transfer) AS transfers
    FROM analytics.fct_agent_sessions WHERE tenant_id = :tenant AND agent_id IS NOT NULL
    GROUP BY date, agent_id
) s
FULL OUTER JOIN (
    SELECT date, agent_id, count(*) AS messages
    FROM analytics.fct_messages WHERE tenant_id = :tenant AND agent_id IS NOT NULL GROUP BY date, agent_id
) m ON m.date = s.date AND m.agent_id = s.agent_id;

INSERT INTO analytics.mart_intent_performance
SELECT :tenant, m.date, m.channel, m.intent, count(*),
       count(*) FILTER (WHERE m.is_fallback), count(*) FILTER (WHERE c.is_escalated)
FROM analytics.fct_messages m
JOIN analytics.fct_conversations c ON c.tenant_id = m.tenant_id AND c.conversation_key = m.conversation_key
WHERE m.tenant_id = :tenant AND m.direction = 'Inbound' AND m.intent IS NOT NULL
GROUP BY m.date, m.channel, m.intent;

INSERT INTO analytics.mart_fallback_context
SELECT :tenant, m.date, m.channel,
       COALESCE(NULLIF(c.first_intent, 'Default Fallback Intent'), '(inicio de la conversación)'),
       count(*), count(DISTINCT m.conversation_key)
FROM analytics.fct_messages m
JOIN analytics.fct_conversations c ON c.tenant_id = m.tenant_id AND c.conversation_key = m.conversation_key
WHERE m.tenant_id = :tenant AND m.direction = 'Inbound' AND m.is_fallback
GROUP BY 1, 2, 3, 4;

INSERT INTO analytics.mart_volume_heatmap
SELECT :tenant, date, channel, weekday_num, hour, count(*) FILTER (WHERE direction = 'Inbound'), count(*)
FROM analytics.fct_messages WHERE tenant_id = :tenant
GROUP BY date, channel, weekday_num, hour;

INSERT INTO analytics.mart_push_daily (tenant_id, date, platform, application_id, sent, delivered, opened, clicks)
SELECT :tenant, d, p, '100274', sent, delivered, (delivered * (0.05 + random() * 0.10))::int,
       (delivered * (0.01 + random() * 0.04))::int
FROM (
    SELECT d, p, sent, (sent * (0.82 + random() * 0.15))::int AS delivered
    FROM (
        SELECT CAST(:start AS date) + g AS d, p,
               (CASE p WHEN 'android' THEN 2.0 WHEN 'ios' THEN 1.0 ELSE 0.4 END * :per_day
                * (0.3 + random()))::int AS sent
        FROM generate_series(0, :days - 1) AS g CROSS JOIN unnest(ARRAY['android', 'ios', 'web']) AS p
    ) x
) y;
UPDATE analytics.mart_push_daily SET
    delivery_rate = round(100.0 * delivered / NULLIF(sent, 0), 2),
    ctr = round(100.0 * clicks / NULLIF(sent, 0), 2),
    ctr_delivered = round(100.0 * clicks / NULLIF(delivered, 0), 2),
    open_rate = round(100.0 * opened / NULLIF(delivered, 0), 2)
WHERE tenant_id = :tenant;

INSERT INTO analytics.mart_campaign_performance (tenant_id, campaign_id, campaign_name, channel, status,
    start_date, end_date, sent, delivered, opened, clicks)
SELECT :tenant, 'cmp-' || g, 'Campaña ' || g, 'push', 'sent', s, s + (random() * 3)::int, sent,
       (sent * 0.9)::int, (sent * 0.9 * (0.05 + random() * 0.1))::int, (sent * (0.005 + random() * 0.05))::int
FROM (
    SELECT g, CAST(:start AS date) + (random() * (:days - 1))::int AS s,
           (CASE WHEN random() < 0.2 THEN 20 + random() * 70 ELSE 150 + random() * 8000 END)::int AS sent
    FROM generate_series(1, GREATEST(4, :days / 3)) AS g
) c;
UPDATE analytics.mart_campaign_performance SET
    delivery_rate = round(100.0 * delivered / NULLIF(sent, 0), 2),
    ctr = round(100.0 * clicks / NULLIF(sent, 0), 2),
    ctr_delivered = round(100.0 * clicks / NULLIF(delivered, 0), 2),
    open_rate = round(100.0 * opened / NULLIF(delivered, 0), 2),
    in_league = sent >= 100
WHERE tenant_id = :tenant;

INSERT INTO analytics.mart_push_heatmap
SELECT :tenant, p, (ARRAY['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[wd],
       wd, h, round((0.5 + random() * 3.5)::numeric, 2)
FROM unnest(ARRAY['android', 'ios']) AS p, generate_series(1, 7) AS wd, generate_series(8, 22) AS h;
