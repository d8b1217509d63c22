"""The ML work of tune and evaluate jobs, as it runs in the job's child process
(jobs/sandbox.py, the target it names): everything through the hub's HTTP API with the job's
token, files only in the child's own working folder, and no database. The work itself is ml/'s,
which speaks only the HF protocol."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcommons.errors import InvalidInputError

if TYPE_CHECKING:
    from modelcommons.jobs.child import Report

# The metrics a verified evaluation records (what its board shows).
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
    from modelcommons.ml.evaluate import evaluate_pinned

    metrics = evaluate_pinned(
        args["model"],
        args["model_commit"],
        args["dataset"],
        args["dataset_commit"],
        label_column=args["label_column"],
        text_column=args.get("text_column"),
        endpoint=args["endpoint"],
        token=token,
        log=report.log,
    )
    return {"metrics": {k: float(metrics[k]) for k in VERIFIED_METRICS if k in metrics}}
