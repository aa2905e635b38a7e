#!/bin/bash
# First database start only (docker-entrypoint-initdb.d): give PostgREST's `authenticator` role a login
# with the password from AUTHENTICATOR_PASSWORD. Migration 040 grants it web_anon (and only that).
# The password travels through the environment, never through this file.
set -euo pipefail
# ON_ERROR_STOP=0: on the Supabase image `authenticator` already exists (password = POSTGRES_PASSWORD)
# and may not be alterable by this user; then keep AUTHENTICATOR_PASSWORD equal to POSTGRES_PASSWORD.
: "${AUTHENTICATOR_PASSWORD:?AUTHENTICATOR_PASSWORD is not set}"
psql -v ON_ERROR_STOP=0 -v pw="$AUTHENTICATOR_PASSWORD" --username "${POSTGRES_USER:-postgres}" \
     --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
SELECT format('CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD %L', :'pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') \gexec
SELECT format('ALTER ROLE authenticator WITH LOGIN NOINHERIT PASSWORD %L', :'pw') \gexec
SQL
