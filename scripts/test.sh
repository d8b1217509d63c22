#!/usr/bin/env bash
# The whole test suite: everything on SQLite + the filesystem store, then the HF protocol
# tests again on a cluster (3 servers behind nginx, PostgreSQL, SeaweedFS, Redis workers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Debian packages the tests use: chromium for the browser tests (Playwright cannot download
# its own browser here), nginx for the cluster run, git-lfs so that the clone test checks LFS
# content, not pointers.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v git-lfs >/dev/null || missing+=(git-lfs)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (apt)..."
  (apt-get install -y -qq "${missing[@]}" || (apt-get update -qq && apt-get install -y -qq "${missing[@]}")) \
    >/dev/null 2>&1 || echo "note: could not install ${missing[*]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

scripts/lint.sh

echo "== full suite: SQLite, filesystem store"
.venv/bin/pytest -q -p no:cacheprovider tests
echo "== protocol and cluster suite: 3 servers behind nginx, PostgreSQL, S3 (SeaweedFS), Redis workers"
COMMONS_TEST_DATABASE=postgresql COMMONS_TEST_CLUSTER=1 \
  .venv/bin/pytest -q -p no:cacheprovider -m "protocol and not ml" tests/integration
