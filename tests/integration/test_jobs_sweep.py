"""No job is lost for want of a dispatcher: a job written where none is installed (the CLI,
this test) waits queued in the jobs table, and a worker's sweep hands it to the queue, at
start-up and then every COMMONS_JOB_SWEEP_SECONDS."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from modelcommons.db.engine import make_engine
from modelcommons.db.migrate import upgrade
from modelcommons.hub import jobs
from modelcommons.hub.jobs import Job
from tests.cluster import COMMONS, spawn

MISSING = "0" * 64  # no object has this sha256: the conversion fails at once, touching nothing


@pytest.fixture
def home() -> Path:
    return Path(tempfile.mkdtemp(prefix="commons-sweep-"))


@pytest.fixture
def database(home: Path) -> Engine:
    """A hub database of its own, with only this test's worker on its queue."""
    engine = make_engine(f"sqlite:///{home}/commons.db")
    upgrade(engine)
    return engine


@pytest.fixture
def worker(home: Path, database: Engine) -> Iterator[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    env.update(
        COMMONS_HOME=str(home),
        COMMONS_DATABASE_URL=f"sqlite:///{home}/commons.db",
        COMMONS_JOB_SWEEP_SECONDS="1",
    )
    with spawn([*COMMONS, "worker"], home / "worker.log", env) as process:
        yield process.pid


def _queue_unannounced(engine: Engine) -> int:
    """A job row written as `commons storage convert` writes its jobs: nobody announces it."""
    with Session(engine) as session:
        job_id = jobs.create_job(session, "xet-convert", {"sha256": MISSING}).id
        session.commit()
    return job_id


def _ended(engine: Engine, job_id: int, seconds: float) -> Job:
    deadline = time.monotonic() + seconds
    while True:
        with Session(engine, expire_on_commit=False) as session:
            job = jobs.get_job(session, job_id)
        if job.status not in jobs.ACTIVE:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job.status}: {job.log}")
        time.sleep(0.2)


def test_jobs_nobody_announced_are_run_by_the_workers_sweep(database, worker, home):
    before = _queue_unannounced(database)  # queued while no worker ran
    with Session(database) as session:
        assert jobs.get_job(session, before).dispatched_at is None
    started = _ended(database, before, 60)  # the worker's start-up sweep
    after = _queue_unannounced(database)  # the worker is past its start-up now
    swept = _ended(database, after, 30)  # its periodic sweep
    for job in (started, swept):
        log = job.log + (home / "worker.log").read_text()[-2000:]
        assert job.status == "failed" and f"No object {MISSING}" in job.log, log
        assert f":{worker}\n" in job.log and job.dispatched_at is not None, log
        assert job.attempts == 1, log  # claimed once, however often it was swept
