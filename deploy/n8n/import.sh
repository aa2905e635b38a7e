#!/bin/sh
# One-shot n8n set-up: the `n8n-import` service of docker-compose.yml runs it (stop n8n first; see the
# README's "Scheduling" section), and the stack test runs it the same way on loopback.
#   1. the workflows of $BI_WORKFLOWS_DIR (default /workflows = the repository's n8n/), with their
#      "Configuración" node filled from BI_BASE_URL, BI_TENANT_ID and BI_POLL_SECONDS (the workflows
#      read no environment variable: n8n runs with N8N_BLOCK_ENV_ACCESS_IN_NODE=true);
#   2. the pipeline API credential, imported from a file written from PIPELINE_API_TOKEN (mode 0600,
#      deleted afterwards; the token never reaches a command line or the n8n processes' environment);
#   3. both workflows activated (they run on the next `n8n start`).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${BI_WORKFLOWS_DIR:-/workflows}
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
node "$here/configure.mjs" "$src" "$work"
unset PIPELINE_API_TOKEN
n8n import:workflow --separate --input="$work/workflows"
n8n import:credentials --input="$work/credentials.json"
rm -f "$work/credentials.json"
while read -r id; do
  n8n update:workflow --id="$id" --active=true
done < "$work/ids"
echo "n8n: workflows imported and activated: $(tr '\n' ' ' < "$work/ids")"
