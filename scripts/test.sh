#!/usr/bin/env bash
# The whole test suite: everything on SQLite + the filesystem store, then the HF protocol
# tests again on the machine's PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

echo "== full suite: SQLite, filesystem store"
.venv/bin/pytest -q -p no:cacheprovider tests
echo "== protocol suite: PostgreSQL"
COMMONS_TEST_DATABASE=postgresql .venv/bin/pytest -q -p no:cacheprovider -m "protocol and not ml" tests/integration
