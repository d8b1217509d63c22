"""Job records: the `jobs` table is the source of truth; how jobs run is jobs/'s business.

A job is created queued, claimed by a worker (running, under a lease its heartbeats renew),
and ends succeeded, failed or cancelled. A running job whose lease ran out (its worker died),
or whose worker stopped, goes back to the queue until it has used its attempts.

New jobs are announced, once their transaction has committed, to the dispatcher that the
server and the worker install at start-up (jobs/dispatch.py). Where none is installed (the
CLI, a test) the job stays queued in the table, and the workers' sweep hands it over.
`dispatched_at` records the hand-over, so each queued job is enqueued by one process only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.models import Account, utcnow
from modelcommons.db.models import Job as Job  # re-exported: edges and jobs/ name it from here
from modelcommons.db.vocabulary import FinalStatus as FinalStatus
from modelcommons.db.vocabulary import JobKind as JobKind
from modelcommons.db.vocabulary import JobStatus as JobStatus
from modelcommons.errors import NotFoundError, TooManyRequestsError, UnauthorizedError
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import MAX_INTEGER

ACTIVE: tuple[JobStatus, ...] = ("queued", "running")
MAX_ATTEMPTS = 3
DISPATCH_BATCH = 500  # ids per conditional UPDATE: well under any database's parameter limit
Dispatcher = Callable[[list[int]], None]
_dispatcher: Dispatcher | None = None


class Progress(Protocol):
    """What a running job's handler may report (the worker's JobContext implements it)."""

    def step(self, fraction: float, line: str) -> None:
        """Progress from a long loop, recorded now and then; raises JobCancelledError once
        the job was asked to stop."""

    def progress(self, fraction: float, line: str | None = None) -> bool:
        """A milestone, always recorded; False when the job was asked to stop."""


def install_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Where `announce` hands new jobs: the queue, in the server and the worker."""
    global _dispatcher
    _dispatcher = dispatcher


def announce(job_ids: Iterable[int]) -> None:
    """Hand committed jobs to the installed dispatcher; with none, they wait for a sweep."""
    ids = list(job_ids)
    if ids and _dispatcher is not None:
        _dispatcher(ids)


def create_job(
    session: Session, kind: JobKind, args: dict[str, Any], *, owner_id: int | None = None
) -> Job:
    job = Job(kind=kind, args=args, owner_id=owner_id, status="queued", log="")
    session.add(job)
    session.flush()
    return job


def create_owned_job(
    session: Session, kind: JobKind, args: dict[str, Any], *, owner_id: int
) -> Job:
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


def claim(session: Session, job_id: int, *, worker: str) -> Job | None:
    """Mark a queued job running under a fresh lease, for `worker`; None when it is not
    queued (a second delivery of the same job, or one cancelled meanwhile). The job comes
    detached from the session, for the handler to read. The row is locked first, so of two
    workers handed the same job (the dispatcher's message and a sweep's) only one runs it;
    SQLite's write transaction already serializes them."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "queued":
        return None
    job.status = "running"
    job.attempts += 1
    job.log += f"attempt {job.attempts}: worker {worker}\n"
    job.heartbeat_at = utcnow()
    job.lease_until = utcnow() + lease()
    session.flush()
    session.expunge(job)
    return job


def record_progress(session: Session, job_id: int, fraction: float, line: str | None) -> bool:
    """Record progress and renew the lease. Returns False when cancel was requested."""
    job = get_job(session, job_id)
    job.progress = max(0.0, min(1.0, fraction))
    job.heartbeat_at = utcnow()
    job.lease_until = utcnow() + lease()
    if line:
        job.log += line.rstrip("\n") + "\n"
    return not job.cancel_requested


def cancel_requested(session: Session, job_id: int) -> bool:
    return get_job(session, job_id).cancel_requested


def renew_lease(session: Session, job_id: int) -> None:
    """A heartbeat: the running job's worker is alive."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(heartbeat_at=utcnow(), lease_until=utcnow() + lease())
    )


def finish(
    session: Session,
    job_id: int,
    *,
    status: FinalStatus,
    result: dict[str, Any] | None,
    line: str,
) -> None:
    job = get_job(session, job_id)
    job.status = status
    job.result = result
    job.lease_until = None
    job.log += line + "\n"
    if status == "succeeded":
        job.progress = 1.0


def requeue_stopped(session: Session, job_id: int) -> bool:
    """A job its stopping worker interrupted goes back to the queue (its attempts count).
    True when it did, to be announced once committed."""
    job = get_job(session, job_id)
    job.lease_until = None
    if job.cancel_requested:
        job.status, job.log = "cancelled", job.log + "cancelled on request\n"
    elif job.attempts >= MAX_ATTEMPTS:
        job.status = "failed"
        job.log += "failed: its worker stopped during it too many times\n"
    else:
        _requeue(job, "its worker stopped: re-queued")
    return job.status == "queued"


def requeue_expired(session: Session) -> list[int]:
    """Re-queue (or fail) running jobs whose lease expired. Returns the re-queued ids."""
    requeued: list[int] = []
    expired = session.scalars(
        select(Job).where(Job.status == "running", Job.lease_until < utcnow())
    )
    for job in expired:
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.log += "failed: its worker stopped answering too many times\n"
        else:
            _requeue(job, "lease expired: re-queued")
            requeued.append(job.id)
    return requeued


def _requeue(job: Job, line: str) -> None:
    job.status, job.log = "queued", job.log + line + "\n"
    job.dispatched_at = None  # a new stay in the queue: to be handed over again


def undispatched_job_ids(session: Session) -> list[int]:
    """Queued jobs nobody handed to the queue, or whose hand-over is older than a lease (its
    message may be lost): what a worker's sweep hands over."""
    stmt = select(Job.id).where(Job.status == "queued", _not_recently_dispatched()).order_by(Job.id)
    return list(session.scalars(stmt))


def mark_dispatched(session: Session, job_ids: Sequence[int]) -> list[int]:
    """Of `job_ids`, those this process may enqueue: queued and not handed over within a
    lease, stamped now by a conditional UPDATE, so that of processes racing for a job (the
    server that created it, every worker's sweep) exactly one enqueues it."""
    stamped: list[int] = []
    for start in range(0, len(job_ids), DISPATCH_BATCH):
        batch = job_ids[start : start + DISPATCH_BATCH]
        stmt = (
            update(Job)
            .where(Job.id.in_(batch), Job.status == "queued", _not_recently_dispatched())
            .values(dispatched_at=utcnow())
            .returning(Job.id)
        )
        stamped += session.scalars(stmt)
    return sorted(stamped)


def _not_recently_dispatched() -> ColumnElement[bool]:
    return or_(Job.dispatched_at.is_(None), Job.dispatched_at < utcnow() - lease())
