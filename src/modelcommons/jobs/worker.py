"""The job consumer: `commons worker`, or a child process of an embedded `commons serve`.

The embedded worker leads a process group of its own, which `commons serve` stops whole on
SIGTERM or SIGINT (a terminal's Ctrl-C reaches only the server, which then decides). A
stopping worker stops its job children first and puts their jobs back in the queue.

Beside the consumer, two threads: the reaper hands jobs whose worker died to a live one, and
the sweep (every COMMONS_JOB_SWEEP_SECONDS, and once at start-up) hands over queued jobs that
nobody dispatched, such as those the CLI created: no job waits for want of a dispatcher. A
third queues a garbage collection every COMMONS_GC_INTERVAL_SECONDS (unless 0), one for all
the workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

log = logging.getLogger("modelcommons.worker")


def run_worker(*, workers: int = 1) -> None:
    from modelcommons.config import get_settings

    hub_url = get_settings().worker_hub_url
    if hub_url:
        # Jobs fetch and push through the HF libraries, which read this once, on import.
        os.environ["HF_ENDPOINT"] = hub_url
    # Imported only now: `commons serve` imports this module to start its worker, and the
    # handlers (and what they import) belong in the worker's process, not the server's.
    from modelcommons.jobs import dispatch, runner
    from modelcommons.jobs import tasks as _tasks  # noqa: F401  (registers run_job with huey)
    from modelcommons.jobs.queue import huey

    dispatch.install()
    # Jobs queued while no worker ran (or whose message was lost) are handed over again.
    runner.sweep_queued()
    reap_every = max(1.0, min(60.0, get_settings().job_lease_seconds / 3))  # a few per lease
    sweep_every = max(1.0, get_settings().job_sweep_seconds)
    periodic = [
        ("commons-reaper", reap_every, runner.reap_expired),
        ("commons-sweep", sweep_every, runner.sweep_queued),
    ]
    if get_settings().gc_interval_seconds > 0:
        from modelcommons.hub import gc

        periodic.append(("commons-gc", get_settings().gc_interval_seconds, gc.queue_periodic))
    for name, every, work in periodic:
        threading.Thread(target=_forever, args=(every, work), name=name, daemon=True).start()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
    consumer.run()  # until SIGTERM (at once) or SIGINT (once running jobs end)
    _stop_running_jobs()


def _stop_running_jobs() -> None:
    """Stop the job children still running (each leads a process group of its own), which
    ends their handlers: their jobs go back to the queue, their folders are removed. They
    have COMMONS_WORKER_STOP_SECONDS for it."""
    from modelcommons.config import get_settings
    from modelcommons.jobs import runner

    runner.stopping.set()
    for pid in _children():
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGTERM)
            else:
                os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # it ended meanwhile
            continue
    runner.wait_for_running(get_settings().worker_stop_seconds)


def _children() -> list[int]:
    """This process's children, from /proc (Linux; elsewhere none are found, and the job
    children end when their job's time limit does)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if parent == os.getpid():
            found.append(int(stat.parent.name))
    return found


def _forever(interval: float, work: Callable[[], list[int]]) -> None:
    """`work` every `interval` seconds, for the life of the worker."""
    while True:
        time.sleep(interval)
        try:
            work()
        except Exception:  # a database hiccup must not stop the reaper or the sweep
            log.exception("%s failed", work.__name__)


def _child() -> None:
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    run_worker()


def start_embedded_worker() -> BaseProcess:
    """A consumer in a child process, so that no heavy job ever runs inside the server."""
    process = multiprocessing.get_context("spawn").Process(
        target=_child, name="commons-worker", daemon=True
    )
    process.start()
    return process


def stop_embedded_worker(process: BaseProcess) -> None:
    """SIGTERM to the worker's process group, then SIGKILL to whatever of it is left after
    twice COMMONS_WORKER_STOP_SECONDS: nothing outlives the server."""
    from modelcommons.config import get_settings

    _signal_group(process, signal.SIGTERM)
    process.join(2 * get_settings().worker_stop_seconds)  # it gives its jobs the first half
    _signal_group(process, signal.SIGKILL)
    process.join()


def _signal_group(process: BaseProcess, signum: int) -> None:
    assert process.pid is not None  # started
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:  # the group is gone, or the worker has not made it yet
        if process.is_alive():
            os.kill(process.pid, signum)
