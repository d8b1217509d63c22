"""The tune and evaluate jobs, run by the job worker for requests made through the API.

Their ML work runs in a sandboxed child process (jobs/sandbox.py, jobs/child_work.py); what
needs the database, recording a verified evaluation, stays here in the worker.
"""

from __future__ import annotations

import math
import os
from typing import Any

from modelcommons.config import get_settings
from modelcommons.db.engine import write_session
from modelcommons.errors import ConfigurationError, NotFoundError
from modelcommons.hub import evaluations
from modelcommons.hub.job_tokens import job_token
from modelcommons.hub.jobs import Job
from modelcommons.hub.repos import find_repo
from modelcommons.jobs.child_work import VERIFIED_METRICS
from modelcommons.jobs.context import JobContext
from modelcommons.jobs.sandbox import run_in_child

CLASSIFY_TEXT = "text-classification"


def _hub_url() -> str:
    endpoint = os.environ.get("HF_ENDPOINT")  # set by the worker from COMMONS_WORKER_HUB_URL
    if not endpoint:
        raise ConfigurationError(
            "This worker does not know the hub's URL: set COMMONS_PUBLIC_URL (or "
            "COMMONS_WORKER_HUB_URL) for `commons worker`."
        )
    return endpoint


def _in_child(work: str, args: dict[str, Any], job: Job, context: JobContext) -> Any:
    return run_in_child(
        f"modelcommons.jobs.child_work:{work}",
        {**args, "endpoint": _hub_url()},
        context=context,
        token=job_token(job),
        timeout=get_settings().job_timeout_seconds,
    )


def tune_job(job: Job, context: JobContext) -> dict[str, Any]:
    push = job.args.get("push")
    done = _in_child("tune", {"recipe": job.args["recipe"], "push": push}, job, context)
    return {"metrics": done.get("metrics"), "pushed": push, "commit": done.get("commit")}


def _verified(done: dict[str, Any]) -> dict[str, float]:
    """Only the metrics a board shows, as finite numbers: the child's answer is checked."""
    metrics = done.get("metrics")
    if not isinstance(metrics, dict):
        return {}
    kept = {k: metrics[k] for k in VERIFIED_METRICS if isinstance(metrics.get(k), int | float)}
    return {k: float(v) for k, v in kept.items() if math.isfinite(v)}


def evaluate_job(job: Job, context: JobContext) -> dict[str, Any]:
    """A verified evaluation: the hub measures the model on the dataset's test split at the
    commits recorded when it was queued, and stores the result as verified."""
    args = job.args
    kept = _verified(_in_child("evaluate", args, job, context))
    with write_session() as session:
        model = find_repo(session, "model", args["model"])
        dataset = find_repo(session, "dataset", args["dataset"])
        if model is None or dataset is None:
            raise NotFoundError("The model or the dataset was deleted during the evaluation.")
        # The board is the task measured: the model's own classification task, or text
        # classification for a base that is not a classifier yet (say, an encoder).
        own = model.pipeline_tag or ""
        task = args.get("task") or (own if own.endswith("classification") else CLASSIFY_TEXT)
        evaluations.record_verified(
            session,
            model=model,
            dataset=dataset,
            task=task,
            metrics=kept,
            model_commit=args["model_commit"],
            dataset_commit=args["dataset_commit"],
            job_id=job.id,
        )
    context.progress(1.0, "Recorded: " + ", ".join(f"{k} {v:.4f}" for k, v in kept.items()))
    return {"task": task, "metrics": kept, "dataset": args["dataset"], "model": args["model"]}
