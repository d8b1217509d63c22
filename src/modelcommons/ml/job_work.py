"""The ML work of tune and evaluate jobs, as it runs in the job's child process
(jobs/sandbox.py): everything through the hub's HTTP API with the job's token, files only in
the child's own working folder, and no database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcommons.errors import InvalidInputError

if TYPE_CHECKING:
    from modelcommons.jobs.child import Report

# What a verified evaluation may download: never pickles (or code), so nothing it loads can
# run code; a model without safetensors or skops weights fails to load instead.
UNSAFE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.joblib", "*.py"]
VERIFIED_METRICS = ("accuracy", "f1_macro", "roc_auc")


def _not_a_path(field: str, value: str) -> None:
    """Requests are checked when queued; a job queued before that check existed (or a
    hand-edited one) still cannot make the child read the worker's files."""
    if Path(value).expanduser().is_absolute() or ".." in Path(value).parts:
        raise InvalidInputError(f"The {field} of a job must be a repo id on this hub: {value!r}.")


def tune(args: dict[str, Any], *, token: str | None, report: Report) -> dict[str, Any]:
    """Train per `args["recipe"]` and push to `args["push"]` when given."""
    from modelcommons.ml.recipe import Recipe
    from modelcommons.ml.tune import run_tune

    recipe = Recipe(**args["recipe"])
    _not_a_path("base", recipe.base)
    _not_a_path("data", recipe.data)
    result, commit = run_tune(
        recipe,
        push_to=args.get("push"),
        endpoint=args["endpoint"],
        token=token,
        progress=report.step,
        workdir=Path.cwd() / "out",
    )
    return {"metrics": result.metrics, "commit": commit}


def evaluate(args: dict[str, Any], *, token: str | None, report: Report) -> dict[str, Any]:
    """The model's verified metrics on the dataset's test split, both at the pinned commits."""
    from huggingface_hub import snapshot_download

    from modelcommons.ml.evaluate import evaluate_model

    endpoint = args["endpoint"]
    report.log(0.05, f"Fetching {args['model']} at {args['model_commit'][:8]}")
    model_dir = snapshot_download(
        args["model"],
        revision=args["model_commit"],
        ignore_patterns=UNSAFE_PATTERNS,
        endpoint=endpoint,
        token=token,
    )
    report.log(0.2, f"Fetching {args['dataset']} at {args['dataset_commit'][:8]}")
    data_dir = snapshot_download(
        args["dataset"],
        repo_type="dataset",
        revision=args["dataset_commit"],
        endpoint=endpoint,
        token=token,
    )
    report.log(0.4, "Predicting on the test split")
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
    return {"metrics": {k: float(metrics[k]) for k in VERIFIED_METRICS if k in metrics}}
