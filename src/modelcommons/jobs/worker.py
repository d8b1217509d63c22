"""The job consumer: `commons worker`, or a child process of an embedded `commons serve`."""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess

from modelcommons.hub import jobs


def run_worker(*, workers: int = 1) -> None:
    from modelcommons.config import get_settings

    hub_url = get_settings().worker_hub_url
    if hub_url:
        # Jobs fetch and push through the HF libraries, which read this once, on import.
        os.environ["HF_ENDPOINT"] = hub_url
    from modelcommons.jobs.queue import huey
    from modelcommons.jobs.tasks import run_job

    # Jobs queued while no worker ran (or whose message was lost) are handed over again.
    for job_id in jobs.pending_job_ids():
        run_job(job_id)
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


def _child() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    run_worker()


def start_embedded_worker() -> BaseProcess:
    """A consumer in a child process, so that no heavy job ever runs inside the server."""
    process = multiprocessing.get_context("spawn").Process(
        target=_child, name="commons-worker", daemon=True
    )
    process.start()
    return process
