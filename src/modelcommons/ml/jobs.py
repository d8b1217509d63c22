"""The tune job: `commons tune`, run by the job worker for a request made through the API."""

from __future__ import annotations

import os
from typing import Any

from modelcommons.db.models import Job
from modelcommons.errors import ConfigurationError, NotFoundError
from modelcommons.hub import jobs
from modelcommons.hub.job_tokens import job_token
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.requests import EVALUATE, TUNE

# What a verified evaluation may download: never pickles (or code), so nothing it loads can
# run code; a model without safetensors or skops weights fails to load instead.
UNSAFE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.joblib", "*.py"]
VERIFIED_METRICS = ("accuracy", "f1_macro", "roc_auc")
CLASSIFY_TEXT = "text-classification"


def _hub_url() -> str:
    endpoint = os.environ.get("HF_ENDPOINT")  # set by the worker from COMMONS_WORKER_HUB_URL
    if not endpoint:
        raise ConfigurationError(
            "This worker does not know the hub's URL: set COMMONS_PUBLIC_URL (or "
            "COMMONS_WORKER_HUB_URL) for `commons worker`."
        )
    return endpoint


@jobs.handler(TUNE)
def tune_job(job: Job, context: jobs.JobContext) -> dict[str, Any]:
    endpoint = _hub_url()
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


@jobs.handler(EVALUATE)
def evaluate_job(job: Job, context: jobs.JobContext) -> dict[str, Any]:
    """A verified evaluation: the hub measures the model on the dataset's test split at the
    commits recorded when it was queued, and stores the result as verified."""
    from huggingface_hub import snapshot_download

    from modelcommons.db.engine import write_session
    from modelcommons.hub import evaluations
    from modelcommons.hub.repos import find_repo
    from modelcommons.ml.evaluate import evaluate_model

    endpoint, token, args = _hub_url(), job_token(job), job.args

    def report(fraction: float, line: str) -> None:
        if not context.progress(fraction, line):
            raise jobs.JobCancelled(f"job {job.id} was cancelled")

    report(0.05, f"Fetching {args['model']} at {args['model_commit'][:8]}")
    model_dir = snapshot_download(
        args["model"],
        revision=args["model_commit"],
        ignore_patterns=UNSAFE_PATTERNS,
        endpoint=endpoint,
        token=token,
    )
    report(0.2, f"Fetching {args['dataset']} at {args['dataset_commit'][:8]}")
    data_dir = snapshot_download(
        args["dataset"],
        repo_type="dataset",
        revision=args["dataset_commit"],
        endpoint=endpoint,
        token=token,
    )
    report(0.4, "Predicting on the test split")
    metrics = evaluate_model(
        model_dir,
        data_dir,
        label_column=args["label_column"],
        text_column=args.get("text_column"),
        seed=0,
        endpoint=endpoint,
        token=token,
        record=False,
    )
    kept = {k: float(metrics[k]) for k in VERIFIED_METRICS if k in metrics}
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
    report(1.0, "Recorded: " + ", ".join(f"{k} {v:.4f}" for k, v in kept.items()))
    return {"task": task, "metrics": kept, "dataset": args["dataset"], "model": args["model"]}
