"""`commons serve`, `commons worker` and `commons migrate`."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Annotated

import typer

from modelcommons.cli.bootstrap import ensure_admin, prepare_database


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo models and datasets.")] = False,
    workers: Annotated[int, typer.Option(help="Server processes.")] = 1,
    log_level: Annotated[
        str, typer.Option(help="debug, info (each request), warning.")
    ] = "warning",
) -> None:
    """Run the hub (and, embedded, its job worker)."""
    import uvicorn

    from modelcommons.config import get_settings
    from modelcommons.server.protocol import BoundedHttpToolsProtocol

    settings = get_settings()
    prepare_database()
    token = ensure_admin()
    worker = None
    # uvicorn ends a SIGTERM'd server by raising the signal again once it has shut down:
    # as an exit, it runs the `finally` below (SIGINT does, as KeyboardInterrupt).
    signal.signal(signal.SIGTERM, _exit)
    try:
        if settings.embedded_queue and settings.run_worker:
            from modelcommons.jobs.worker import start_embedded_worker

            if settings.worker_hub_url is None:  # the embedded worker talks to this server
                local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
                os.environ["COMMONS_WORKER_HUB_URL"] = f"http://{local}:{port}"
            worker = start_embedded_worker()
        if demo:
            from modelcommons.cli.demo import seed_in_background

            seed_in_background(f"http://{host}:{port}", token)
        typer.echo(
            f"Model Commons on http://{host}:{port}  (clients: HF_ENDPOINT=http://{host}:{port})"
        )
        uvicorn.run(
            "modelcommons.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            timeout_keep_alive=30,
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            http=BoundedHttpToolsProtocol,  # httptools' speed, with the head bounded
        )
    finally:
        if worker is not None:
            from modelcommons.jobs.worker import stop_embedded_worker

            stop_embedded_worker(worker)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a stop asked for is a clean exit (systemd, containers)


def worker(
    threads: Annotated[int, typer.Option(help="Jobs run at once.")] = 1,
) -> None:
    """Run a job worker (for COMMONS_QUEUE_URL=redis://...; embedded serve starts its own)."""
    from modelcommons.jobs.worker import run_worker

    prepare_database()
    run_worker(workers=threads)


def migrate() -> None:
    """Upgrade the database schema to this version (run once before rolling out servers)."""
    from modelcommons.db.engine import get_engine
    from modelcommons.db.migrate import upgrade

    upgrade(get_engine())
    typer.echo("Database schema is up to date.")
