"""Background jobs: the `jobs` table is the source of truth, Huey only carries execution.

A job runs under a lease renewed by heartbeats; the reaper re-queues jobs whose lease ran
out (their worker died) until they have used their attempts, then fails them, keeping the log.
A worker that is stopped re-queues the jobs it interrupts at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Account, Job, utcnow
from modelcommons.errors import NotFoundError, TooManyRequestsError, UnauthorizedError
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import MAX_INTEGER

MAX_ATTEMPTS = 3
ACTIVE = ("queued", "running")
# This process's running jobs, and whether its worker is stopping.
stopping = threading.Event()
_running_here: set[int] = set()
_here = threading.Condition()
Handler = Callable[[Job, "JobContext"], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def create_job(
    session: Session, kind: str, args: dict[str, Any], *, owner_id: int | None = None
) -> Job:
    job = Job(kind=kind, args=args, owner_id=owner_id, status="queued", log="")
    session.add(job)
    session.flush()
    return job


def create_owned_job(session: Session, kind: str, args: dict[str, Any], *, owner_id: int) -> Job:
    """A job a user asked for, unless they already have COMMONS_MAX_ACTIVE_JOBS_PER_USER
    queued or running; asked for again while active (a re-run script), the same job. The
    owner's row is locked first (SQLite's write transaction already holds the database), so
    parallel requests are counted one after another."""
    session.execute(select(Account.id).where(Account.id == owner_id).with_for_update())
    active = list(
        session.scalars(select(Job).where(Job.owner_id == owner_id, Job.status.in_(ACTIVE)))
    )
    for job in active:
        if job.kind == kind and job.args == args and not job.cancel_requested:
            return job
    limit = get_settings().max_active_jobs_per_user
    if len(active) >= limit:
        raise TooManyRequestsError(
            f"You have {len(active)} jobs queued or running, and this hub runs at most "
            f"{limit} per user: wait for one to finish, or cancel one at /jobs."
        )
    return create_job(session, kind, args, owner_id=owner_id)


def lease() -> timedelta:
    """How long a job's worker may stay silent before the job is handed to another."""
    return timedelta(seconds=get_settings().job_lease_seconds)


def visible_job(session: Session, principal: Principal, job_id: int) -> Job:
    """A job its owner (or an admin) may see; anyone else is told it does not exist."""
    if principal.user is None:
        raise UnauthorizedError("Jobs are visible to the user who queued them; sign in.")
    job = session.get(Job, job_id) if 0 < job_id <= MAX_INTEGER else None
    mine = job is not None and job.owner_id == principal.user.id
    if job is None or not (mine or principal.user.is_admin):
        raise NotFoundError(f"No job {job_id}.")
    return job


def jobs_of(session: Session, user: Account, limit: int = 200) -> list[Job]:
    stmt = select(Job).where(Job.owner_id == user.id).order_by(Job.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def request_cancel(session: Session, job: Job) -> None:
    if job.status in ACTIVE:
        job.cancel_requested = True
        if job.status == "queued":
            job.status, job.log = "cancelled", job.log + "cancelled before it started\n"


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"No job {job_id}.")
    return job


def dispatch(job_ids: Iterable[int]) -> None:
    """Hand committed jobs to the queue (import kept lazy: the server rarely needs Huey)."""
    ids = list(job_ids)
    if not ids:
        return
    from modelcommons.jobs.tasks import run_job

    for job_id in ids:
        run_job(job_id)


class JobCancelled(Exception):
    """Raised inside a handler when its job was asked to stop."""


class JobContext:
    """What a running handler may do: report progress, log, and learn of cancellation."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._last_write = 0.0

    def step(self, fraction: float, line: str) -> None:
        """Progress from a long loop: written at most twice a second; raises JobCancelled."""
        now = time.monotonic()
        if now - self._last_write < 0.5 and fraction < 1.0:
            return
        self._last_write = now
        if not self.progress(fraction, line):
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def progress(self, fraction: float, line: str | None = None) -> bool:
        """Record progress and renew the lease. Returns False when cancel was requested."""
        with write_session() as session:
            job = get_job(session, self.job_id)
            job.progress = max(0.0, min(1.0, fraction))
            job.heartbeat_at = utcnow()
            job.lease_until = utcnow() + lease()
            if line:
                job.log += line.rstrip("\n") + "\n"
            return not job.cancel_requested


def claim(job_id: int) -> Job | None:
    """Mark a queued job running under a fresh lease, for this worker (the first step of run)."""
    with write_session() as session:
        job = session.get(Job, job_id)
        if job is None or job.status not in ("queued",):
            return None
        job.status = "running"
        job.attempts += 1
        job.log += f"attempt {job.attempts}: worker {socket.gethostname()}:{os.getpid()}\n"
        job.heartbeat_at = utcnow()
        job.lease_until = utcnow() + lease()
        session.flush()
        session.expunge(job)
        return job


def _finish(job_id: int, *, status: str, result: dict[str, Any] | None, line: str) -> None:
    with write_session() as session:
        job = get_job(session, job_id)
        job.status = status
        job.result = result
        job.lease_until = None
        job.log += line + "\n"
        if status == "succeeded":
            job.progress = 1.0


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
    except JobCancelled:
        _finish(job.id, status="cancelled", result=None, line="cancelled on request")
        return
    except Exception as exc:  # a job's failure is recorded, never lost
        if stopping.is_set():  # the failure is the stop's: its child was stopped
            _requeue_stopped(job.id)
            return
        _finish(job.id, status="failed", result=None, line=f"failed: {type(exc).__name__}: {exc}")
        raise
    _finish(job.id, status="succeeded", result=result, line="done")


def _requeue_stopped(job_id: int) -> None:
    """A job its stopping worker interrupted goes back to the queue (its attempts count)."""
    with write_session() as session:
        job = get_job(session, job_id)
        job.lease_until = None
        if job.cancel_requested:
            job.status, job.log = "cancelled", job.log + "cancelled on request\n"
        elif job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.log += "failed: its worker stopped during it too many times\n"
        else:
            job.status, job.log = "queued", job.log + "its worker stopped: re-queued\n"
        requeued = job.status == "queued"
    if requeued:
        dispatch([job_id])


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
                session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running")
                    .values(heartbeat_at=utcnow(), lease_until=utcnow() + lease())
                )
        except Exception:  # the next beat tries again; the lease has slack for one miss
            continue


def reap_expired() -> list[int]:
    """Re-queue (or fail) running jobs whose lease expired. Returns the re-queued ids."""
    requeued: list[int] = []
    with write_session() as session:
        expired = session.scalars(
            select(Job).where(Job.status == "running", Job.lease_until < utcnow())
        )
        for job in expired:
            if job.attempts >= MAX_ATTEMPTS:
                job.status = "failed"
                job.log += "failed: its worker stopped answering too many times\n"
            else:
                job.status = "queued"
                job.log += "lease expired: re-queued\n"
                requeued.append(job.id)
    dispatch(requeued)
    return requeued


def pending_job_ids() -> list[int]:
    with read_session() as session:
        return list(session.scalars(select(Job.id).where(Job.status == "queued")))
