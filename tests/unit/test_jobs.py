"""The jobs table outlives workers: expired leases are re-queued, then failed; cancel is seen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Job, utcnow
from modelcommons.hub import jobs


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it


def _running_job(*, attempts: int, expired: bool) -> int:
    with write_session() as session:
        job = jobs.create_job(session, "reaper-test", {})
        job.status, job.attempts = "running", attempts
        job.lease_until = utcnow() + (timedelta(minutes=-1) if expired else jobs.lease())
        return job.id


def _job(job_id: int) -> Job:
    with read_session() as session:
        return jobs.get_job(session, job_id)


def test_expired_leases_are_requeued_then_failed(monkeypatch):
    # The queue is the one deliberate seam: a live worker would run the re-queued job at once.
    dispatched: list[list[int]] = []
    monkeypatch.setattr(jobs, "dispatch", lambda ids: dispatched.append(list(ids)))
    retry = _running_job(attempts=1, expired=True)
    give_up = _running_job(attempts=jobs.MAX_ATTEMPTS, expired=True)
    healthy = _running_job(attempts=1, expired=False)

    assert retry in jobs.reap_expired()
    assert dispatched and retry in dispatched[-1] and give_up not in dispatched[-1]
    assert _job(retry).status == "queued" and "re-queued" in _job(retry).log
    assert _job(give_up).status == "failed" and "stopped answering" in _job(give_up).log
    assert _job(healthy).status == "running"


def test_progress_renews_the_lease_and_reports_cancel():
    job_id = _running_job(attempts=1, expired=True)
    context = jobs.JobContext(job_id)
    assert context.progress(0.5, "halfway") is True
    job = _job(job_id)
    assert job.progress == 0.5 and "halfway" in job.log and job.lease_until > utcnow()
    with write_session() as session:
        jobs.get_job(session, job_id).cancel_requested = True
    assert context.progress(0.6) is False
