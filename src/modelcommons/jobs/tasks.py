"""Huey tasks: thin wrappers that run jobs recorded in the database."""

from __future__ import annotations

from modelcommons.hub import jobs
from modelcommons.hub import scans as _scans  # noqa: F401  (registers the scan handler)
from modelcommons.hub.xet import convert as _convert  # noqa: F401  (registers xet-convert)
from modelcommons.jobs.queue import huey
from modelcommons.ml import jobs as _ml_jobs  # noqa: F401  (registers tune; imports no torch)


@huey.task()
def run_job(job_id: int) -> None:
    jobs.run(job_id)
