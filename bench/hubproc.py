"""Start and stop a `commons serve` for a benchmark, on a free port with its own home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import free_port, serve


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
    env = {**os.environ, "COMMONS_HOME": str(home), "COMMONS_RUN_WORKER": "0", **settings}
    if not env.get("COMMONS_DATABASE_URL", "sqlite").startswith("sqlite"):
        commons(env, "migrate")
    with serve(free_port(), env, home.parent / f"{home.name}.log") as endpoint:
        yield endpoint, read_credentials(home / CREDENTIALS_FILE)["token"], env
