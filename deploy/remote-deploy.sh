#!/usr/bin/env bash
# Runs on the VM (piped over SSH by .github/workflows/deploy.yml): check out the commit, build the image,
# migrate, restart the stack, wait for the dashboards' health check. The VM's `.env` holds the settings.
set -euo pipefail
: "${DEPLOY_PATH:?DEPLOY_PATH is not set}"
: "${GIT_SHA:?GIT_SHA is not set}"
cd "$DEPLOY_PATH"
test -f .env || { echo "missing $DEPLOY_PATH/.env (copy .env.example and fill it in)" >&2; exit 1; }
git fetch --quiet origin
git checkout --quiet --detach "$GIT_SHA"
docker compose build --pull
docker compose up -d db
docker compose run --rm migrate
docker compose up -d --remove-orphans
for _ in $(seq 1 30); do
  if docker compose exec -T dash curl -fsS http://127.0.0.1:8050/healthz > /dev/null; then
    echo "deployed $GIT_SHA"
    docker compose ps
    exit 0
  fi
  sleep 5
done
echo "dash did not become healthy" >&2
docker compose logs --tail 100 dash >&2
exit 1
