#!/usr/bin/env bash
# Set up, then run the hub on the embedded defaults at http://127.0.0.1:8080 with demo content.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/commons serve --demo "$@"
