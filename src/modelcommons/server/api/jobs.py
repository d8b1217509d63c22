"""Jobs through the API (our extra): queue a tune or a verified evaluation, watch its
progress and log, cancel it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelcommons.errors import UnauthorizedError
from modelcommons.hub import job_requests, jobs
from modelcommons.hub.jobs import Job
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, JsonBody, ReadSession, WriteSession

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


# Queueing routes take no session: the request commits its own transaction, then announces
# the job to the queue (a job must not reach a worker before its row does).
@router.post("/api/jobs/tune")
def queue_tune(body: JsonBody, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    """Body: the recipe fields (task, base, data, method, epochs, ...) and `push` (owner/name)."""
    return job_json(job_requests.request_tune(principal, body, endpoint=base), base)


@router.post("/api/evaluations")
def queue_evaluation(body: JsonBody, principal: CurrentPrincipal, base: BaseUrl) -> dict[str, Any]:
    """Body: model, dataset (repo ids); optional label_column, text_column and task. The
    hub's worker measures the model on the dataset's test split at their current commits."""
    return job_json(job_requests.request_evaluation(principal, body), base)


@router.get("/api/jobs")
def list_jobs(
    principal: CurrentPrincipal, base: BaseUrl, session: ReadSession
) -> list[dict[str, Any]]:
    if principal.user is None:
        raise UnauthorizedError("Pass a token to list your jobs.")
    return [job_json(j, base) for j in jobs.jobs_of(session, principal.user)]


@router.get("/api/jobs/{job_id}")
def get_job(
    job_id: int, principal: CurrentPrincipal, base: BaseUrl, session: ReadSession
) -> dict[str, Any]:
    return job_json(jobs.visible_job(session, principal, job_id), base)


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(
    job_id: int, principal: CurrentPrincipal, base: BaseUrl, session: WriteSession
) -> dict[str, Any]:
    job = jobs.visible_job(session, principal, job_id)
    jobs.request_cancel(session, job)
    return job_json(job, base)
