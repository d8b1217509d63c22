"""Jobs through the API (our extra): queue a tune or a verified evaluation, watch its
progress and log, cancel it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Job
from modelcommons.errors import UnauthorizedError
from modelcommons.hub import jobs
from modelcommons.ml import requests
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, JsonBody

router = APIRouter()


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
    return job_json(requests.request_tune(principal, body, endpoint=base), base)


@router.post("/api/evaluations")
def queue_evaluation(body: JsonBody, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    """Body: model, dataset (repo ids); optional label_column, text_column and task. The
    hub's worker measures the model on the dataset's test split at their current commits."""
    return job_json(requests.request_evaluation(principal, body), base)


@router.get("/api/jobs")
def list_jobs(principal: CurrentPrincipal, base: BaseUrl) -> list[dict[str, Any]]:
    if principal.user is None:
        raise UnauthorizedError("Pass a token to list your jobs.")
    with read_session() as session:
        return [job_json(j, base) for j in jobs.jobs_of(session, principal.user)]


@router.get("/api/jobs/{job_id}")
def get_job(job_id: int, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    with read_session() as session:
        return job_json(jobs.visible_job(session, principal, job_id), base)


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(job_id: int, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    with write_session() as session:
        job = jobs.visible_job(session, principal, job_id)
        jobs.request_cancel(session, job)
        return job_json(job, base)
