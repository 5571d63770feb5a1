#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a Unix socket, for tests and the demo.
#
#   scripts/pg.sh start DIR   initdb + start; writes DIR/env (PGHOST, PGPORT,
#                             PGUSER, ETL_DATABASE_URL) and prints the URL
#   scripts/pg.sh stop DIR    stop and delete the cluster
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# postgres user.  fsync is off: this data is disposable.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: scripts/pg.sh start|stop DIR" >&2; exit 64; }

bindir=$(pg_config --bindir 2>/dev/null || true)
if [[ ! -x "$bindir/initdb" ]]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi
[[ -x "$bindir/initdb" ]] || { echo "pg.sh: PostgreSQL server binaries not found; run scripts/setup.sh" >&2; exit 69; }

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f "$dir/env" ]] && stop_quiet; then :; fi
  local data sock
  # The data and socket live in /tmp so the postgres user can reach them
  # whatever the permissions of the build directory's parents.
  data=$(mktemp -d /tmp/etl-pg.XXXXXX)
  sock="$data/sock"
  mkdir -p "$sock"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$data"; fi
  as_pg "$bindir/initdb" -D "$data/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 69; }
  as_pg "$bindir/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB -c work_mem=64MB" \
    start >/dev/null || { cat "$data/server.log" >&2; exit 69; }
  cat >"$dir/env" <<ENV
export PGDATA_DIR='$data'
export PGHOST='$sock'
export PGPORT=5432
export PGUSER=postgres
export PGDATABASE=postgres
export ETL_DATABASE_URL='postgresql:///postgres?host=$sock&user=postgres'
ENV
  echo "postgresql:///postgres?host=$sock&user=postgres"
}

stop_quiet() {
  local data
  data=$(. "$dir/env"; echo "$PGDATA_DIR")
  if [[ -d "$data/data" ]]; then
    as_pg "$bindir/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
  rm -f "$dir/env"
}

case "$cmd" in
  start) start ;;
  stop) [[ -f "$dir/env" ]] && stop_quiet; exit 0 ;;
  *) echo "usage: scripts/pg.sh start|stop DIR" >&2; exit 64 ;;
esac
