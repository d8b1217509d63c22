#!/usr/bin/env bash
# CI's lint step, in one place: `make lint`, scripts/test.sh and the pre-commit hook all run
# this file, so the three cannot drift. Assumes .venv exists (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint: ruff check, ruff format --check, mypy (strict on src, relaxed on tests)"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check -q src tests bench
.venv/bin/mypy
