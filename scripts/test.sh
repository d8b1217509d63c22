#!/usr/bin/env bash
# The whole test suite: everything on SQLite + the filesystem store, then the HF protocol
# tests again on the machine's PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# git-lfs lets the clone test check LFS content too (without it, it checks the pointers).
if ! command -v git-lfs >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq git-lfs) >/dev/null 2>&1 \
    || echo "note: could not install git-lfs; the clone test will check LFS pointers only"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

echo "== lint: ruff, mypy --strict"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check -q src tests bench
.venv/bin/mypy

echo "== full suite: SQLite, filesystem store"
.venv/bin/pytest -q -p no:cacheprovider tests
echo "== protocol suite: PostgreSQL"
COMMONS_TEST_DATABASE=postgresql .venv/bin/pytest -q -p no:cacheprovider -m "protocol and not ml" tests/integration
