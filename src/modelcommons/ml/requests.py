"""Asking the hub's workers for ML work: a tune or a verified evaluation, on behalf of a user.
The API and the web pages both queue through here; the handlers are in ml.jobs."""

from __future__ import annotations

from typing import Any

from modelcommons.db.engine import write_session
from modelcommons.db.models import Job
from modelcommons.errors import InvalidInputError, UnauthorizedError
from modelcommons.hub import jobs, refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import split_repo_id
from modelcommons.hub.repos import authorize_namespace, get_repo
from modelcommons.ml.recipe import Recipe

TUNE, EVALUATE = "tune", "evaluate"
RECIPE_FIELDS = set(Recipe.__dataclass_fields__)
EVALUATION_FIELDS = {"model", "dataset", "label_column", "text_column", "task"}


def _user_id(principal: Principal) -> int:
    if principal.user is None:
        raise UnauthorizedError("Queueing a job needs a signed-in user or a token.")
    return principal.user.id


def _queue(kind: str, args: dict[str, Any], owner_id: int) -> Job:
    with write_session() as session:
        job = jobs.create_job(session, kind, args, owner_id=owner_id)
    jobs.dispatch([job.id])
    return job


def request_tune(principal: Principal, fields: dict[str, Any], *, endpoint: str) -> Job:
    """`fields`: the recipe's (task, base, data, method, epochs, ...) and `push` (owner/name)."""
    unknown = set(fields) - RECIPE_FIELDS - {"push"}
    if unknown:
        raise InvalidInputError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    try:
        recipe = Recipe(**{k: v for k, v in fields.items() if k != "push"})
    except TypeError as exc:
        raise InvalidInputError(f"Incomplete tune request: {exc}") from None
    push = fields.get("push") or None
    owner_id = _user_id(principal)
    if push is not None:
        authorize_namespace(principal, split_repo_id(push)[0], "write")
    args = {"recipe": dict(recipe.__dict__), "push": push, "endpoint": endpoint}
    return _queue(TUNE, args, owner_id)


def request_evaluation(principal: Principal, fields: dict[str, Any]) -> Job:
    """`fields`: model and dataset repo ids; optional label_column, text_column and task (the
    board; by default the model's classification task). Pins both repos' current commits."""
    unknown = set(fields) - EVALUATION_FIELDS
    if unknown:
        raise InvalidInputError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not isinstance(fields.get("model"), str) or not isinstance(fields.get("dataset"), str):
        raise InvalidInputError("Give the model and the dataset to evaluate, as repo ids.")
    owner_id = _user_id(principal)
    with write_session() as session:
        model = get_repo(session, principal, "model", fields["model"])
        dataset = get_repo(session, principal, "dataset", fields["dataset"])
        args = {
            "model": model.repo_id,
            "dataset": dataset.repo_id,
            "model_commit": refs.resolve_revision(session, model, refs.DEFAULT_BRANCH),
            "dataset_commit": refs.resolve_revision(session, dataset, refs.DEFAULT_BRANCH),
            "label_column": str(fields.get("label_column") or "label"),
            "text_column": fields.get("text_column") or None,
            "task": fields.get("task") or None,
        }
    return _queue(EVALUATE, args, owner_id)
