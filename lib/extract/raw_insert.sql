-- One row per distinct API response; ids are allocated beforehand so log rows can point at them.
INSERT INTO raw.{table} (
    id, tenant_id, application_id, endpoint, loaded_at, date_from, date_to, source_data, run_id, request_params,
    response_sha256
)
VALUES %s
