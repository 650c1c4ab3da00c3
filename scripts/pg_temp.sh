#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and the bench.
#   eval "$(scripts/pg_temp.sh start)"   # prints export MASKGATE_TEST_PG_URL=... and MASKGATE_PG_TEMP_DIR=...
#   scripts/pg_temp.sh stop [DIR]        # stops it and deletes the directory (DIR defaults to $MASKGATE_PG_TEMP_DIR)
# The cluster lives in a temporary directory, listens only on 127.0.0.1 on a free port, and is
# tuned for throw-away use (fsync off). PostgreSQL refuses to run as root, so as root it runs as
# the `postgres` user. `start` is bounded in time (initdb 120 s, server start 60 s); on failure it
# prints the server's log to stderr, removes the directory and exits non-zero, printing nothing on
# stdout, so `eval "$(scripts/pg_temp.sh start)"` is safe either way.
set -euo pipefail

find_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] || { echo "pg_temp: PostgreSQL binaries (initdb) not found" >&2; exit 1; }
  echo "$d"
}

# Run as the postgres user when root, from inside the cluster directory (the caller's working
# directory may not be readable by that user).
as_pg() {
  local dir=$1; shift
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg_temp: running as root but there is no 'postgres' user" >&2; return 1; }
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

cmd=${1:-}
case "$cmd" in
  start)
    bin=$(find_bin)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/maskgate-pg.XXXXXX")
    started=0
    cleanup() { [ "$started" = 1 ] || rm -rf "$dir"; }
    trap cleanup EXIT
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_pg "$dir" timeout 120 "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { echo "pg_temp: initdb failed:" >&2; cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$dir" timeout 90 "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null \
      || { echo "pg_temp: the server did not start:" >&2; cat "$dir/server.log" >&2 2>/dev/null || true
           as_pg "$dir" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true; exit 1; }
    started=1
    echo "export MASKGATE_PG_TEMP_DIR=$dir"
    echo "export MASKGATE_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:-${MASKGATE_PG_TEMP_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir" ] || { echo "pg_temp: nothing to stop" >&2; exit 0; }
    bin=$(find_bin)
    as_pg "$dir" timeout 60 "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_pg "$dir" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
