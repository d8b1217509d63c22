"""Jobs through the API (our extra): queue a tune, watch its progress and log, cancel it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Job
from modelcommons.errors import InvalidInputError, NotFoundError, UnauthorizedError
from modelcommons.hub import jobs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import split_repo_id
from modelcommons.hub.repos import authorize_namespace
from modelcommons.ml.recipe import Recipe
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, JsonBody

router = APIRouter()
RECIPE_FIELDS = set(Recipe.__dataclass_fields__)


def _visible_job(session: Session, principal: Principal, job_id: int) -> Job:
    if principal.user is None:
        raise UnauthorizedError("Jobs are visible to the user who queued them; pass a token.")
    job = session.get(Job, job_id)
    mine = job is not None and job.owner_id == principal.user.id
    if job is None or not (mine or principal.user.is_admin):
        raise NotFoundError(f"No job {job_id}.")
    return job


def job_json(job: Job, base: str) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress, 4),
        "log": job.log,
        "result": job.result,
        "createdAt": job.created_at.isoformat() + "Z",
        "url": f"{base}/api/jobs/{job.id}",
    }


@router.post("/api/jobs/tune")
def queue_tune(body: JsonBody, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    """Body: the recipe fields (task, base, data, method, epochs, ...) and `push` (owner/name)."""
    unknown = set(body) - RECIPE_FIELDS - {"push"}
    if unknown:
        raise InvalidInputError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    try:
        recipe = Recipe(**{k: v for k, v in body.items() if k != "push"})
    except TypeError as exc:
        raise InvalidInputError(f"Incomplete tune request: {exc}") from None
    push = body.get("push")
    if push is not None:
        authorize_namespace(principal, split_repo_id(push)[0], "write")
    elif principal.user is None:
        raise UnauthorizedError("Queueing a job needs a token.")
    assert principal.user is not None
    args = {
        "recipe": {k: v for k, v in recipe.__dict__.items()},
        "push": push,
        "endpoint": base,
    }
    with write_session() as session:
        job = jobs.create_job(session, "tune", args, owner_id=principal.user.id)
        answer = job_json(job, base)
    jobs.dispatch([answer["id"]])
    return answer


@router.get("/api/jobs")
def list_jobs(principal: CurrentPrincipal, base: BaseUrl) -> list[dict[str, Any]]:
    if principal.user is None:
        raise UnauthorizedError("Pass a token to list your jobs.")
    with read_session() as session:
        rows = session.scalars(
            select(Job).where(Job.owner_id == principal.user.id).order_by(Job.id.desc()).limit(200)
        )
        return [job_json(j, base) for j in rows]


@router.get("/api/jobs/{job_id}")
def get_job(job_id: int, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    with read_session() as session:
        return job_json(_visible_job(session, principal, job_id), base)


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(job_id: int, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    with write_session() as session:
        job = _visible_job(session, principal, job_id)
        jobs.request_cancel(session, job)
        return job_json(job, base)
