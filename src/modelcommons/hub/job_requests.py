"""Asking the hub's workers for ML work: a tune or a verified evaluation, on behalf of a user.
The API and the web pages both queue through here; the handlers are in jobs/ml_work.py.

A job reads only repos of this hub that its requester may read: never a path on the
worker's disk (local paths stay a feature of `commons tune`, run by a person). Its token
has the scope the job needs, and never more than the requester's own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from modelcommons.db.engine import write_session
from modelcommons.errors import InvalidInputError, UnauthorizedError
from modelcommons.hub import jobs, refs
from modelcommons.hub.accounts import Principal, Scope
from modelcommons.hub.jobs import Job, JobKind
from modelcommons.hub.names import split_repo_id
from modelcommons.hub.repos import authorize_namespace, get_repo
from modelcommons.ml.recipe import BUILTIN_BASES, TEXT_BOUNDS, Recipe
from modelcommons.ml.recipe import METHODS as METHODS  # re-exported: the tune form lists them
from modelcommons.ml.recipe import TASKS as TASKS

RECIPE_FIELDS = set(Recipe.__dataclass_fields__)
EVALUATION_FIELDS = {"model", "dataset", "label_column", "text_column", "task"}
MAX_NAME = TEXT_BOUNDS["label_column"]


def _user_id(principal: Principal) -> int:
    if principal.user is None:
        raise UnauthorizedError("Queueing a job needs a signed-in user or a token.")
    return principal.user.id


def _scope(principal: Principal, need: Scope) -> Scope:
    """The job token's role: what the job needs, capped by the requester's token."""
    return "write" if need == "write" and principal.token_role == "write" else "read"


def _queue(session: Session, principal: Principal, kind: JobKind, args: dict[str, Any]) -> Job:
    return jobs.create_owned_job(session, kind, args, owner_id=_user_id(principal))


def _check_repo_id(field: str, value: str, *, also: str = "") -> None:
    try:
        split_repo_id(value)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"{field} must be a repo id on this hub (namespace/name){also}, not {value!r}: "
            "jobs never read paths or URLs."
        ) from exc


def _readable_sources(session: Session, principal: Principal, recipe: Recipe) -> Recipe:
    """The recipe with its base and data checked (and named as the hub names them now)."""
    builtins = BUILTIN_BASES.get(recipe.task, ())
    base = recipe.base
    if base not in builtins:
        also = "".join(f" or {name!r}" for name in builtins)
        _check_repo_id("base", base, also=also)
        base = get_repo(session, principal, "model", base).repo_id
    _check_repo_id("data", recipe.data)
    data = get_repo(session, principal, "dataset", recipe.data).repo_id
    return replace(recipe, base=base, data=data)


def _push_target(principal: Principal, push: object) -> str | None:
    if push is None or push == "":
        return None
    if not isinstance(push, str):
        raise InvalidInputError(f"push must be a repo id (owner/name), not {push!r}.")
    authorize_namespace(principal, split_repo_id(push)[0], "write")
    return push


def request_tune(principal: Principal, fields: dict[str, Any], *, endpoint: str) -> Job:
    """`fields`: the recipe's (task, base, data, method, epochs, ...) and `push` (owner/name)."""
    unknown = set(fields) - RECIPE_FIELDS - {"push"}
    if unknown:
        raise InvalidInputError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    try:
        recipe = Recipe(**{k: v for k, v in fields.items() if k != "push"})
    except TypeError as exc:
        raise InvalidInputError(f"Incomplete tune request: {exc}") from exc
    _user_id(principal)
    push = _push_target(principal, fields.get("push"))
    with write_session() as session:
        recipe = _readable_sources(session, principal, recipe)
        args = {
            "recipe": dict(recipe.__dict__),
            "push": push,
            "endpoint": endpoint,
            "scope": _scope(principal, "write" if push else "read"),
        }
        job = _queue(session, principal, "tune", args)
    jobs.announce([job.id])
    return job


def _optional_name(fields: dict[str, Any], field: str) -> str | None:
    value = fields.get(field) or None
    if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
        raise InvalidInputError(f"{field} must be a text of at most {MAX_NAME} characters.")
    return value


def request_evaluation(principal: Principal, fields: dict[str, Any]) -> Job:
    """`fields`: model and dataset repo ids; optional label_column, text_column and task (the
    board; by default the model's classification task). Pins both repos' current commits.
    The worker writes the verified record itself, so the job's token only reads."""
    unknown = set(fields) - EVALUATION_FIELDS
    if unknown:
        raise InvalidInputError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not isinstance(fields.get("model"), str) or not isinstance(fields.get("dataset"), str):
        raise InvalidInputError("Give the model and the dataset to evaluate, as repo ids.")
    _user_id(principal)
    names = {k: _optional_name(fields, k) for k in ("label_column", "text_column", "task")}
    with write_session() as session:
        model = get_repo(session, principal, "model", fields["model"])
        dataset = get_repo(session, principal, "dataset", fields["dataset"])
        args = {
            "model": model.repo_id,
            "dataset": dataset.repo_id,
            "model_commit": refs.resolve_revision(session, model, refs.DEFAULT_BRANCH),
            "dataset_commit": refs.resolve_revision(session, dataset, refs.DEFAULT_BRANCH),
            **names,
            "label_column": names["label_column"] or "label",
            "scope": _scope(principal, "read"),
        }
        job = _queue(session, principal, "evaluate", args)
    jobs.announce([job.id])
    return job
