"""`commons demo`: seed demo models and datasets into a running hub through its API."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Annotated

import typer


def demo(
    endpoint: Annotated[
        str, typer.Option(envvar="HF_ENDPOINT", help="The hub's URL.")
    ] = "http://127.0.0.1:8080",
    token: Annotated[str | None, typer.Option(envvar="HF_TOKEN", help="A write token.")] = None,
) -> None:
    """Upload the demo model and datasets (idempotent: unchanged files are skipped)."""
    import os

    os.environ["HF_ENDPOINT"] = endpoint  # read by the HF libraries when first imported
    from modelcommons.demo import seed

    if token is None:
        from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
        from modelcommons.config import get_settings

        path = get_settings().home / CREDENTIALS_FILE
        if not path.exists():
            typer.secho("Error: no token. Next: commons demo --token <write token>", err=True)
            raise typer.Exit(1)
        token = read_credentials(path)["token"]
    seed(endpoint, token, say=typer.echo)
    typer.echo("Demo content is ready.")


def _wait_then_seed(endpoint: str, token: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{endpoint}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    cmd = [
        sys.executable,
        "-m",
        "modelcommons.cli.main",
        "demo",
        "--endpoint",
        endpoint,
        "--token",
        token,
    ]
    subprocess.run(cmd, check=False)


def seed_in_background(endpoint: str, token: str) -> None:
    """Seed once the server answers, in a child process, so the server starts at once."""
    threading.Thread(target=_wait_then_seed, args=(endpoint, token), daemon=True).start()
