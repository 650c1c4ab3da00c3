#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and the bench.
#   eval "$(scripts/pg_temp.sh start)"   # prints export MASKGATE_TEST_PG_URL=... and MASKGATE_PG_TEMP_DIR=...
#   scripts/pg_temp.sh stop [DIR]        # stops it and deletes the directory (DIR defaults to $MASKGATE_PG_TEMP_DIR)
# The cluster lives in a temporary directory, listens only on 127.0.0.1 on a free port, and is
# tuned for throw-away use (fsync off). PostgreSQL refuses to run as root, so as root it runs as
# the `postgres` user.
set -euo pipefail

find_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] || { echo "pg_temp: PostgreSQL binaries (initdb) not found" >&2; exit 1; }
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
case "$cmd" in
  start)
    bin=$(find_bin)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/maskgate-pg.XXXXXX")
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "export MASKGATE_PG_TEMP_DIR=$dir"
    echo "export MASKGATE_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:-${MASKGATE_PG_TEMP_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir" ] || { echo "pg_temp: nothing to stop" >&2; exit 0; }
    bin=$(find_bin)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
