"""Start and stop a `commons serve` for a benchmark, on a free port with its own home."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.cluster import free_port


def commons(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextmanager
def running_hub(home: Path, **settings: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Yields (endpoint, admin token, environment)."""
    port = free_port()
    env = {**os.environ, "COMMONS_HOME": str(home), "COMMONS_RUN_WORKER": "0", **settings}
    if not env.get("COMMONS_DATABASE_URL", "sqlite").startswith("sqlite"):
        commons(env, "migrate")
    log = open(home.parent / f"{home.name}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "modelcommons.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{endpoint}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        creds = dict(
            line.split("=", 1) for line in (home / "admin-credentials").read_text().split()
        )
        yield endpoint, creds["token"], env
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
