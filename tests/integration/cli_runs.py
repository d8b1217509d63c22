"""Running the real `commons` CLI from a test, as a user would, in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def commons(
    *args: str, environ: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`commons ARGS` with `environ` (default: this test run's environment), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy() if environ is None else environ,
        timeout=timeout,
    )


def closed_port() -> int:
    """A local port nothing listens on (the probe that found it is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
