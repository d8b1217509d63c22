"""The tune job: `commons tune`, run by the job worker for a request made through the API."""

from __future__ import annotations

import os
from typing import Any

from modelcommons.db.models import Job
from modelcommons.errors import ConfigurationError
from modelcommons.hub import jobs
from modelcommons.hub.job_tokens import job_token
from modelcommons.ml.recipe import Recipe

KIND = "tune"


@jobs.handler(KIND)
def tune_job(job: Job, context: jobs.JobContext) -> dict[str, Any]:
    endpoint = os.environ.get("HF_ENDPOINT")  # set by the worker from COMMONS_WORKER_HUB_URL
    if not endpoint:
        raise ConfigurationError(
            "This worker does not know the hub's URL: set COMMONS_PUBLIC_URL (or "
            "COMMONS_WORKER_HUB_URL) for `commons worker`."
        )
    from modelcommons.ml.tune import run_tune

    recipe = Recipe(**job.args["recipe"])
    result, commit = run_tune(
        recipe,
        push_to=job.args.get("push"),
        endpoint=endpoint,
        token=job_token(job),
        progress=context.step,
    )
    return {"metrics": result.metrics, "pushed": job.args.get("push"), "commit": commit}
