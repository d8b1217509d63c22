"""The job consumer: `commons worker`, or a child process of an embedded `commons serve`."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess

from modelcommons.hub import jobs

log = logging.getLogger("modelcommons.worker")


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
    threading.Thread(target=_reap_forever, name="commons-reaper", daemon=True).start()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
    consumer.run()


def _reap_forever() -> None:
    """Hand jobs whose worker died to a live one, checking a few times per lease."""
    from modelcommons.config import get_settings

    interval = max(1.0, min(60.0, get_settings().job_lease_seconds / 3))
    while True:
        time.sleep(interval)
        try:
            jobs.reap_expired()
        except Exception:  # a database hiccup must not stop the reaper
            log.exception("reaping expired jobs failed")


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
