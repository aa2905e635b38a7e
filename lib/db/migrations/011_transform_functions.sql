-- Helpers of the transforms (owner: lib.transform). Plain SQL functions, so the planner inlines them
-- into the set-based statements (no per-row PL/pgSQL call, no exception block / subtransaction).
-- Every "try" cast returns NULL instead of raising on malformed input: a bad value becomes a counted
-- reject of its row, never a failed run.

-- True when s starts with a real calendar day 'YYYY-MM-DD' (the caller has checked the digit shape).
CREATE OR REPLACE FUNCTION ops.ymd_ok(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr(s, 1, 4)::int >= 1
       AND substr(s, 6, 2)::int BETWEEN 1 AND 12
       AND substr(s, 9, 2)::int BETWEEN 1 AND CASE substr(s, 6, 2)
               WHEN '02' THEN CASE WHEN substr(s, 1, 4)::int % 4 = 0
                                    AND (substr(s, 1, 4)::int % 100 <> 0 OR substr(s, 1, 4)::int % 400 = 0)
                                   THEN 29 ELSE 28 END
               WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30
               ELSE 31 END
$$;

-- 'YYYY-MM-DD' (optionally followed by a time part) -> date; NULL unless it is a real calendar day.
CREATE OR REPLACE FUNCTION ops.try_date(s text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN translate(substr(s, 1, 10), '0123456789', '0000000000') = '0000-00-00'
                 AND (length(s) = 10 OR substr(s, 11, 1) IN ('T', ' '))
                THEN CASE WHEN ops.ymd_ok(s) THEN substr(s, 1, 10)::date END
    END
$$;

-- ISO 8601 timestamp (API JSON '2025-05-29T02:01:19.632Z', CSV '2026-03-02T19:52:31+00:00', a bare
-- date, or epoch seconds / milliseconds) -> timestamptz; no offset = the session's zone (UTC in the
-- transforms). NULL for anything else, including impossible days such as 2026-02-30.
-- PostgreSQL 16+: a 'YYYY-MM-DD' prefix plus pg_input_is_valid() (soft errors, ~0.5 us a value).
-- PostgreSQL 15 (no pg_input_is_valid): a strict ISO 8601 regular expression (~2.5 us a value).
DO $do$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE $f$
        CREATE OR REPLACE FUNCTION ops.try_timestamptz(s text) RETURNS timestamptz
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN s LIKE '____-__-__%' THEN
                    CASE WHEN pg_input_is_valid(s, 'timestamptz') THEN s::timestamptz END
                WHEN s ~ '^[0-9]{13}$' THEN to_timestamp(s::bigint / 1000.0)
                WHEN s ~ '^[0-9]{10}$' THEN to_timestamp(s::bigint)
            END
        $$ $f$;
    ELSE
        EXECUTE $f$
        CREATE OR REPLACE FUNCTION ops.try_timestamptz(s text) RETURNS timestamptz
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN s ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?)? ?(Z|z|UTC|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?$'
                    THEN CASE WHEN ops.ymd_ok(s) THEN s::timestamptz END
                WHEN s ~ '^[0-9]{13}$' THEN to_timestamp(s::bigint / 1000.0)
                WHEN s ~ '^[0-9]{10}$' THEN to_timestamp(s::bigint)
            END
        $$ $f$;
    END IF;
END
$do$;

-- A JSON number or numeric string -> numeric (NULL when not a number or absurdly large).
CREATE OR REPLACE FUNCTION ops.try_numeric(s text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s ~ '^\s*[+-]?([0-9]{1,30}(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,2})?\s*$'
                THEN s::numeric END
$$;

-- A JSON number or numeric string -> integer (rounded; NULL when not a number or out of int4 range).
CREATE OR REPLACE FUNCTION ops.try_int(s text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN abs(ops.try_numeric(s)) < 2147483647.5 THEN round(ops.try_numeric(s))::integer END
$$;

-- A percentage with 2 decimals (num / den * 100); NULL when den is 0 / negative / NULL or the result
-- does not fit NUMERIC(6,2).
CREATE OR REPLACE FUNCTION ops.pct(num numeric, den numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN den > 0 AND abs(round(100.0 * num / den, 2)) < 10000
                THEN round(100.0 * num / den, 2) END
$$;

-- The list inside an API envelope: `data` when it is an array, else a list under `data`
-- (items/campaigns/contacts/channels/rows), else the document itself when it is an array; else NULL.
CREATE OR REPLACE FUNCTION ops.envelope_items(doc jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(doc) = 'array' THEN doc
        WHEN jsonb_typeof(doc -> 'data') = 'array' THEN doc -> 'data'
        WHEN jsonb_typeof(doc -> 'data') = 'object' THEN
            coalesce(CASE WHEN jsonb_typeof(doc -> 'data' -> 'items') = 'array' THEN doc -> 'data' -> 'items' END,
                     CASE WHEN jsonb_typeof(doc -> 'data' -> 'campaigns') = 'array' THEN doc -> 'data' -> 'campaigns' END,
                     CASE WHEN jsonb_typeof(doc -> 'data' -> 'contacts') = 'array' THEN doc -> 'data' -> 'contacts' END,
                     CASE WHEN jsonb_typeof(doc -> 'data' -> 'channels') = 'array' THEN doc -> 'data' -> 'channels' END,
                     CASE WHEN jsonb_typeof(doc -> 'data' -> 'rows') = 'array' THEN doc -> 'data' -> 'rows' END)
        WHEN jsonb_typeof(doc -> 'items') = 'array' THEN doc -> 'items'
    END
$$;

-- The application id of a raw push row: its column, else its request params, else a concrete path.
CREATE OR REPLACE FUNCTION ops.raw_application_id(application_id text, request_params jsonb, endpoint text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(application_id, ''), nullif(request_params ->> 'applicationId', ''),
                    nullif(substring(endpoint FROM '^/v1/application/([^/{}]+)/'), ''))
$$;

-- dateStats items of the tenant's raw push rows with lo < id <= hi, typed, one row per
-- (raw row, application, date, platform) (hourly rows summed), with a reject reason (NULL = usable).
-- Shared by the `daily_stats` (push part) and `toques_daily` transforms so both read push the same way.
-- RLS applies (invoker's rights): only the current tenant's raw rows are visible.
CREATE OR REPLACE FUNCTION ops.raw_push_date_stats(lo bigint, hi bigint)
RETURNS TABLE (raw_id integer, loaded_at timestamptz, ord bigint, application_id text, stats_date date,
               platform text, sent bigint, success bigint, received bigint, clicked bigint,
               reason text, sample text)
LANGUAGE sql STABLE AS $$
    SELECT i.raw_id, i.loaded_at, min(i.ord), i.application_id, i.stats_date, i.platform,
           sum(i.sent), sum(i.success), sum(i.received), sum(i.clicked), i.reason, min(i.sample)
    FROM (
        SELECT r.id AS raw_id, r.loaded_at, e.ord,
               ops.raw_application_id(r.application_id, r.request_params, r.endpoint) AS application_id,
               ops.try_date(e.j ->> 'statsDate') AS stats_date,
               left(nullif(lower(e.j ->> 'platformGroup'), ''), 30) AS platform,
               ops.try_int(e.j ->> 'numDevicesSent') AS sent,
               ops.try_int(e.j ->> 'numDevicesSuccess') AS success,
               ops.try_int(e.j ->> 'numDevicesReceived') AS received,
               ops.try_int(e.j ->> 'numDevicesClicked') AS clicked,
               CASE
                   WHEN e.j = '"__no_list__"'::jsonb THEN 'response has no data list'
                   WHEN jsonb_typeof(e.j) IS DISTINCT FROM 'object' THEN 'item is not an object'
                   WHEN ops.raw_application_id(r.application_id, r.request_params, r.endpoint) IS NULL
                       THEN 'missing application id'
                   WHEN nullif(e.j ->> 'platformGroup', '') IS NULL THEN 'missing platformGroup'
                   WHEN ops.try_date(e.j ->> 'statsDate') IS NULL THEN 'missing or unparseable statsDate'
                   WHEN (e.j ->> 'numDevicesSent' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesSent') IS NULL)
                     OR (e.j ->> 'numDevicesSuccess' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesSuccess') IS NULL)
                     OR (e.j ->> 'numDevicesReceived' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesReceived') IS NULL)
                     OR (e.j ->> 'numDevicesClicked' IS NOT NULL AND ops.try_int(e.j ->> 'numDevicesClicked') IS NULL)
                       THEN 'non-numeric counter'
               END AS reason,
               left(e.j::text, 300) AS sample
        FROM raw.raw_push_stats r
        CROSS JOIN LATERAL jsonb_array_elements(coalesce(ops.envelope_items(r.source_data), '["__no_list__"]'::jsonb))
             WITH ORDINALITY AS e (j, ord)
        WHERE r.id > lo AND r.id <= hi
          AND (r.endpoint = '/v1/application/{id}/dateStats' OR r.endpoint LIKE '/v1/application/%/dateStats')
          AND r.tenant_id = current_setting('app.tenant_id', true)
    ) i
    GROUP BY i.raw_id, i.loaded_at, i.application_id, i.stats_date, i.platform, i.reason,
             CASE WHEN i.reason IS NOT NULL THEN i.ord END  -- every reject counts on its own
$$;

-- The transforms scan raw by (tenant, id > watermark).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw_contacts_api', 'raw_push_stats', 'raw_chat_stats', 'raw_campaigns_api']
    LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %1$I ON raw.%2$I (tenant_id, id)', 'ix_' || t || '_tenant_id', t);
    END LOOP;
END
$$;
