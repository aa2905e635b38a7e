#!/usr/bin/env bash
# Build Citus from ../shared/vendor into a relocatable PostgreSQL 15 root, cached by version.
#   scripts/citus/build.sh            -> prints the root (…/usr/lib/postgresql/15/bin holds postgres)
# The server that loads Citus must be the same minor version as the headers it was built on, so the
# root holds Debian's PostgreSQL server *and* its headers at one version (dpkg -x, no system change).
set -euo pipefail
CITUS_VERSION=${CITUS_VERSION:-13.2.2}
here=$(cd "$(dirname "$0")/../.." && pwd)
# ../shared/vendor beside the checkout or one of its parents (a git worktree or a CI clone nested deeper)
vendor=${CITUS_VENDOR_DIR:-}
if [ -z "$vendor" ]; then
  main=$(git -C "$here" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo "$here/.git")
  for start in "$here" "$(dirname "$main")"; do
    dir=$start
    while [ -z "$vendor" ] && [ "$dir" != / ]; do
      dir=$(dirname "$dir")
      [ -f "$dir/shared/vendor/citus-$CITUS_VERSION.tar.gz" ] && vendor=$dir/shared/vendor
    done
  done
  vendor=${vendor:-$here/../shared/vendor}
fi
tarball=$vendor/citus-$CITUS_VERSION.tar.gz
[ -f "$tarball" ] || { echo "citus: $tarball not found (set CITUS_VENDOR_DIR)" >&2; exit 2; }

pkgs=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 libpq5 libpq-dev libkrb5-dev krb5-multidev liblz4-dev libzstd-dev libssl-dev libicu-dev)
pg_version=$(apt-cache policy postgresql-server-dev-15 | awk '/Candidate:/ {print $2}')
[ -n "$pg_version" ] && [ "$pg_version" != "(none)" ] || { echo "citus: no postgresql-server-dev-15 candidate (apt-get update?)" >&2; exit 2; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/indigitall-bi/citus-$CITUS_VERSION-pg$pg_version
root=$cache/root
# As root the cache is under /root, which the postgres user cannot enter: run from a copy in /tmp.
runnable() {
  if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$root/usr/lib/postgresql/15/bin/postgres"; then
    echo "$root"; return
  fi
  local run=/tmp/indigitall-bi/$(basename "$cache")
  if [ ! -f "$run/.done" ]; then
    rm -rf "$run"; mkdir -p "$run"; cp -a "$root" "$run/root"; chmod -R a+rX /tmp/indigitall-bi; touch "$run/.done"
  fi
  echo "$run/root"
}
if [ -f "$cache/.done" ]; then runnable; exit 0; fi

rm -rf "$cache"; mkdir -p "$cache/debs" "$root"
log=$cache/build.log
{
  cd "$cache/debs"
  apt-get download "${pkgs[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "${pkgs[@]}"; }
  for deb in *.deb; do dpkg -x "$deb" "$root"; done
  # the -dev packages' .so links point at /usr/lib/...; point them at what the system has
  libdir=$root/usr/lib/x86_64-linux-gnu
  for lib in lz4 zstd; do
    target=$(ls /usr/lib/x86_64-linux-gnu/lib$lib.so.* 2>/dev/null | head -1 || true)
    [ -n "$target" ] && ln -sf "$target" "$libdir/lib$lib.so"
  done
  src=$cache/src; mkdir -p "$src"
  tar xzf "$tarball" -C "$src" --strip-components=1
  for patch in "$vendor"/citus-$CITUS_VERSION-pg*.patch; do
    [ -f "$patch" ] && (cd "$src" && patch -p1 < "$patch")
  done
  pgc=$root/usr/lib/postgresql/15/bin/pg_config
  cd "$src"
  # pg_config reports /usr paths; the headers and libs live under the root
  ./configure --without-libcurl PG_CONFIG="$pgc" \
    CPPFLAGS="-I$root/usr/include -I$root/usr/include/postgresql -I$root/usr/include/postgresql/15/server" \
    LDFLAGS="-L$libdir -L$root/usr/lib/postgresql/15/lib" >/dev/null
  make -j"$(nproc)" with_llvm=no >/dev/null
  make install with_llvm=no DESTDIR="$cache/stage" >/dev/null
  cp -a "$cache/stage$root/." "$root/" 2>/dev/null || cp -a "$cache/stage/usr/." "$root/usr/"
  rm -rf "$src" "$cache/stage" "$cache/debs"
} >"$log" 2>&1 || { echo "citus: build failed; see $log" >&2; tail -20 "$log" >&2; exit 1; }
touch "$cache/.done"
runnable
