#!/bin/bash
# First database start only (docker-entrypoint-initdb.d): give PostgREST's `authenticator` role a login
# with the password from AUTHENTICATOR_PASSWORD. Migration 040 grants it web_anon; Supabase's role shape
# (10-supabase-roles.sql) lets it switch to anon, authenticated and service_role, which see the `api`
# views of their JWT's tenant only (migration 095). Runs as the image's superuser (POSTGRES_USER).
# The password travels through the environment (psql's \getenv), never through this file or a command line.
set -euo pipefail
: "${AUTHENTICATOR_PASSWORD:?AUTHENTICATOR_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 --no-psqlrc \
     --username "${POSTGRES_USER:-supabase_admin}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
\getenv pw AUTHENTICATOR_PASSWORD
SELECT format('CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD %L', :'pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') \gexec
SELECT format('ALTER ROLE authenticator WITH LOGIN NOINHERIT PASSWORD %L', :'pw') \gexec
SQL
