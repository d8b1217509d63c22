"""Run every benchmark and print its ratios: `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cluster, commits, metadata, scale, transfer, tune, xet  # noqa: E402

if __name__ == "__main__":
    transfer.run()
    xet.run()
    metadata.run()
    commits.run()
    scale.run()
    tune.run()
    cluster.run()
