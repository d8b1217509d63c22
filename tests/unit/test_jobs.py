"""The jobs table outlives workers: expired leases are re-queued, then failed; cancel is seen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Job, utcnow
from modelcommons.hub import jobs
from modelcommons.jobs import runner
from modelcommons.jobs.context import JobContext


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it


def _running_job(*, attempts: int, expired: bool) -> int:
    with write_session() as session:
        job = jobs.create_job(session, "scan", {})  # no worker runs here: any kind will do
        job.status, job.attempts = "running", attempts
        job.lease_until = utcnow() + (timedelta(minutes=-1) if expired else jobs.lease())
        return job.id


def _job(job_id: int) -> Job:
    with read_session() as session:
        return jobs.get_job(session, job_id)


@pytest.fixture
def dispatched() -> Iterator[list[list[int]]]:
    """What the hub announces. The queue is the one deliberate seam: a live worker would run
    the re-queued job at once."""
    announced: list[list[int]] = []
    jobs.install_dispatcher(announced.append)
    yield announced
    jobs.install_dispatcher(None)


def test_expired_leases_are_requeued_then_failed(dispatched):
    retry = _running_job(attempts=1, expired=True)
    give_up = _running_job(attempts=jobs.MAX_ATTEMPTS, expired=True)
    healthy = _running_job(attempts=1, expired=False)

    assert retry in runner.reap_expired()
    assert dispatched and retry in dispatched[-1] and give_up not in dispatched[-1]
    assert _job(retry).status == "queued" and "re-queued" in _job(retry).log
    assert _job(give_up).status == "failed" and "stopped answering" in _job(give_up).log
    assert _job(healthy).status == "running"


def test_progress_renews_the_lease_and_reports_cancel():
    job_id = _running_job(attempts=1, expired=True)
    context = JobContext(job_id)
    assert context.progress(0.5, "halfway") is True
    job = _job(job_id)
    assert job.progress == 0.5 and "halfway" in job.log and job.lease_until > utcnow()
    with write_session() as session:
        jobs.get_job(session, job_id).cancel_requested = True
    assert context.progress(0.6) is False


def test_a_queued_job_is_handed_to_the_queue_once_per_lease():
    # One transaction, rolled back: no other process (a hub sweeping the same database) sees it.
    with write_session() as session:
        job = jobs.create_job(session, "scan", {})
        assert job.id in jobs.undispatched_job_ids(session)
        assert jobs.mark_dispatched(session, [job.id]) == [job.id]
        assert jobs.mark_dispatched(session, [job.id]) == []  # a second sweep, another worker
        assert job.id not in jobs.undispatched_job_ids(session)
        job.dispatched_at = utcnow() - 2 * jobs.lease()  # its message may be lost
        session.flush()
        assert job.id in jobs.undispatched_job_ids(session)
        job.status = "running"
        session.flush()
        assert jobs.mark_dispatched(session, [job.id]) == []  # only queued jobs are handed over
        session.rollback()


def test_a_requeued_job_is_handed_over_again(dispatched):
    job_id = _running_job(attempts=1, expired=True)
    with write_session() as session:
        jobs.get_job(session, job_id).dispatched_at = utcnow()
    assert job_id in runner.reap_expired()
    assert _job(job_id).dispatched_at is None and job_id in dispatched[-1]
