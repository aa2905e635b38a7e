#!/bin/bash
# First database start only (docker-entrypoint-initdb.d, after 10-supabase-roles.sql gave the cluster
# Supabase's role shape): the application owner `postgres` (NOSUPERUSER, BYPASSRLS, CREATEROLE) logs in
# with BI_OWNER_PASSWORD and owns the application database, so `bi db migrate` can create its schemas
# and logins. Runs as the image's superuser (POSTGRES_USER). The password travels through the
# environment and a psql variable, never through this file or a command line.
set -euo pipefail
: "${BI_OWNER_PASSWORD:?BI_OWNER_PASSWORD is not set}"
: "${POSTGRES_DB:?POSTGRES_DB is not set}"
psql -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" --no-psqlrc \
     --username "${POSTGRES_USER:-supabase_admin}" --dbname "$POSTGRES_DB" <<'SQL'
\getenv pw BI_OWNER_PASSWORD
ALTER ROLE postgres WITH LOGIN PASSWORD :'pw';
ALTER DATABASE :"db" OWNER TO postgres;
ALTER SCHEMA public OWNER TO postgres;
SQL
