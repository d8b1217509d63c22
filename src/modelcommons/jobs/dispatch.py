"""The dispatcher the server and the worker install at start-up: announced jobs go to Huey.

Each job is stamped as dispatched first (hub.jobs.mark_dispatched), so of the processes that
announce or sweep the same job only one enqueues it. Huey is imported on the first dispatch,
not at start-up: most server processes rarely create a job.
"""

from __future__ import annotations

from modelcommons.db.engine import write_session
from modelcommons.hub import jobs


def install() -> None:
    jobs.install_dispatcher(enqueue)


def enqueue(job_ids: list[int]) -> None:
    """Hand the committed jobs nobody handed over yet to the queue."""
    with write_session() as session:
        stamped = jobs.mark_dispatched(session, job_ids)
    if not stamped:
        return
    from modelcommons.jobs.tasks import run_job

    for job_id in stamped:
        run_job(job_id)
