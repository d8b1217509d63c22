"""A job handed to two workers at once runs once, on PostgreSQL too (where no database-wide
write lock serializes the claims): the dispatcher and a worker's sweep may both deliver it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from modelcommons.db.engine import make_engine
from modelcommons.db.migrate import upgrade
from modelcommons.hub import jobs
from tests.integration import pg


@pytest.fixture(scope="module")
def sessions() -> Iterator[sessionmaker[Session]]:
    with pg.temporary_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        yield sessionmaker(engine, expire_on_commit=False)
        engine.dispose()


def test_two_workers_claiming_one_job_run_it_once(sessions: sessionmaker[Session]):
    with sessions.begin() as session:
        job_id = jobs.create_job(session, "scan", {}).id
    first_claimed, release = threading.Event(), threading.Event()
    claims: dict[str, object] = {}

    def first() -> None:
        with sessions.begin() as session:  # claims, then holds its transaction open
            claims["first"] = jobs.claim(session, job_id, worker="first")
            first_claimed.set()
            release.wait(10)

    def second() -> None:
        first_claimed.wait(10)
        with sessions.begin() as session:
            claims["second"] = jobs.claim(session, job_id, worker="second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    threads[1].join(1.0)  # the second claim waits on the first's row lock, or races past it
    release.set()
    for thread in threads:
        thread.join(20)

    assert claims["first"] is not None
    assert claims["second"] is None, "both workers claimed the job"
    with sessions() as session:
        job = jobs.get_job(session, job_id)
        assert job.attempts == 1 and job.status == "running", job.log
