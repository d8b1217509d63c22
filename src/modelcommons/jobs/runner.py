"""Running jobs in a worker: claim, lease and heartbeat, the handler, and what happens when
the worker stops or dies.

A job runs under a lease renewed by heartbeats; the reaper re-queues jobs whose lease ran
out (their worker died) until they have used their attempts, then fails them, keeping the log.
A worker that is stopped re-queues the jobs it interrupts at once. The sweep hands queued
jobs nobody dispatched (created by the CLI, or whose message was lost) to the queue.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.errors import JobCancelledError
from modelcommons.hub import jobs
from modelcommons.hub.jobs import Job
from modelcommons.jobs.context import JobContext
from modelcommons.jobs.handlers import HANDLERS

# This process's running jobs, and whether its worker is stopping.
stopping = threading.Event()
_running_here: set[int] = set()
_here = threading.Condition()


def claim(job_id: int) -> Job | None:
    """Mark a queued job running under a fresh lease, for this worker (the first step of
    run); None when it is not queued, so a second delivery of a job does nothing."""
    with write_session() as session:
        return jobs.claim(session, job_id, worker=f"{socket.gethostname()}:{os.getpid()}")


def run(job_id: int) -> None:
    """Run one job in this process (called by the worker)."""
    job = claim(job_id)
    if job is None:
        return
    done = threading.Event()
    threading.Thread(target=_heartbeat, args=(job_id, done), daemon=True).start()
    with _here:
        _running_here.add(job_id)
    try:
        _run_handler(job)
    finally:
        done.set()
        with _here:
            _running_here.discard(job_id)
            _here.notify_all()


def _run_handler(job: Job) -> None:
    try:
        result = HANDLERS[job.kind](job, JobContext(job.id))
    except JobCancelledError:
        _finish(job.id, "cancelled", None, "cancelled on request")
        return
    except Exception as exc:  # a job's failure is recorded, never lost
        if stopping.is_set():  # the failure is the stop's: its child was stopped
            _requeue_stopped(job.id)
            return
        _finish(job.id, "failed", None, f"failed: {type(exc).__name__}: {exc}")
        raise
    _finish(job.id, "succeeded", result, "done")


def _finish(
    job_id: int, status: jobs.FinalStatus, result: dict[str, Any] | None, line: str
) -> None:
    with write_session() as session:
        jobs.finish(session, job_id, status=status, result=result, line=line)


def _requeue_stopped(job_id: int) -> None:
    with write_session() as session:
        requeued = jobs.requeue_stopped(session, job_id)
    if requeued:
        jobs.announce([job_id])


def wait_for_running(seconds: float) -> bool:
    """Wait (at most `seconds`) until this process runs no job; True if none is left."""
    with _here:
        return _here.wait_for(lambda: not _running_here, timeout=seconds)


def _heartbeat(job_id: int, done: threading.Event) -> None:
    """Renew the lease while the handler runs, even through long silent steps (loading a
    model), so that only a dead worker's jobs expire."""
    interval = max(0.5, get_settings().job_lease_seconds / 3)
    while not done.wait(interval):
        try:
            with write_session() as session:
                jobs.renew_lease(session, job_id)
        except Exception:  # the next beat tries again; the lease has slack for one miss
            continue


def reap_expired() -> list[int]:
    """Re-queue (or fail) running jobs whose lease expired. Returns the re-queued ids."""
    with write_session() as session:
        requeued = jobs.requeue_expired(session)
    jobs.announce(requeued)
    return requeued


def sweep_queued() -> list[int]:
    """Announce the queued jobs nobody handed to the queue (or long ago): the dispatcher
    enqueues those no other process claimed meanwhile. Returns the ids announced."""
    with read_session() as session:
        found = jobs.undispatched_job_ids(session)
    jobs.announce(found)
    return found
