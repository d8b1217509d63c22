#!/usr/bin/env bash
# The whole test suite: everything on SQLite + the filesystem store, then the HF protocol
# tests again on the machine's PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Debian packages the tests use: chromium for the browser tests (Playwright cannot download
# its own browser here), git-lfs so that the clone test checks LFS content, not pointers.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v git-lfs >/dev/null || missing+=(git-lfs)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (apt)..."
  (apt-get install -y -qq "${missing[@]}" || (apt-get update -qq && apt-get install -y -qq "${missing[@]}")) \
    >/dev/null 2>&1 || echo "note: could not install ${missing[*]}"
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
