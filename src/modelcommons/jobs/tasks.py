"""The Huey task that carries a job to a worker: the job's id only; its row says the rest."""

from __future__ import annotations

from modelcommons.jobs.queue import huey


@huey.task()
def run_job(job_id: int) -> None:
    from modelcommons.jobs.runner import run  # the handlers: imported by the worker only

    run(job_id)
