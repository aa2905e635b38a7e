-- One row per HTTP attempt (failed ones included); the successful attempt points at its raw row, or at
-- the raw row its identical response repeats (repeated = true: not stored again).
INSERT INTO raw.extraction_log (
    run_id, tenant_id, application_id, endpoint, method, request_params, http_status, attempt,
    duration_ms, bytes, records, error, started_at, raw_table, raw_id, response_sha256, repeated
)
VALUES %s
